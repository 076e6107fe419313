package credentials

import (
	"strings"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"
)

// aliases maps normalised names people use for a field (other tools' and
// OAuth's own vocabulary) to the canonical name, for did-you-mean warnings
// only: they are not accepted as synonyms. A function, built when a name is
// unknown, not at every start-up (docs/contract.md §6).
func aliases() map[string]string {
	return map[string]string{
		"clientid":                "appID",
		"secret":                  "clientSecret",
		"uuid":                    "companyUUID",
		"companyid":               "companyUUID",
		"requesttoken":            "companyRequestToken",
		"companytoken":            "companyRequestToken",
		"credtype":                "credentialType",
		"tokenendpoint":           "tokenURL",
		"tokenuri":                "tokenURL",
		"url":                     "tokenURL",
		"endpoint":                "tokenURL",
		"grant":                   "grantType",
		"scopes":                  "scope",
		"authmethod":              "authStyle",
		"tokenendpointauthmethod": "authStyle",
	}
}

// suggest returns the canonical field name that key most likely means, or
// "". Names are compared after normalisation (case, '_', '-', '.', spaces),
// then by edit distance, so "appId", "client_secret" and "grantTyp" are
// caught.
func suggest(key string) string {
	k := normalise(key)
	if k == "" {
		return ""
	}
	if name, ok := aliases()[k]; ok {
		return name
	}
	best, bestDist := "", -1
	limit := editdist.Typos(len(k))
	consider := func(candidate, name string) {
		c := normalise(candidate)
		if abs(len(k)-len(c)) > limit { // the distance is at least that: a huge key costs nothing
			return
		}
		d := editdist.Distance(k, c)
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = name, d
		}
	}
	for _, f := range Fields {
		consider(f.Name, f.Name)
	}
	for _, f := range Fields { // synonyms after every name, as a name wins a tie
		for _, syn := range f.Synonyms {
			consider(syn, f.Name)
		}
	}
	return best
}

func normalise(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(s))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
