package refresh

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// epochThreshold separates the two meanings of refresh_expires_in: Concur sends an
// absolute Unix time (1.5e9 and up), Keycloak a number of seconds from now. No
// relative lifetime reaches 31 years, and no absolute one is before 2001.
const epochThreshold = 1_000_000_000

// maxLifetime caps a lifetime read from outside, so that absurd values neither
// overflow time arithmetic nor make a token look valid for centuries.
const maxLifetime = 100 * 365 * 24 * time.Hour

// maxFileTime is the last instant RFC 3339 can write.
var maxFileTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// maxEpoch (year 5138) caps an absolute time read from outside.
const maxEpoch = 1e11

// Keys of the normalised fields tokenkeeper adds to the stored response.
const (
	keyObtainedAt      = "obtained_at"
	keyExpiresAt       = "expires_at"
	keyRefreshExpires  = "refresh_expires_at"
	keyTokenURL        = "token_url"
	keyCompanyUUID     = "companyUUID"
	keyAuthStyle       = "auth_style"
	keySeedFingerprint = "seed_fingerprint"
	keyRefreshFixed    = "refresh_expiry_fixed"
)

// isResponseKey says which are the fields a token endpoint answers with that belong to one
// grant; a bootstrap (a new grant) drops them from the old file, and keeps the rest
// (fields written by a newer tokenkeeper, for instance). A switch, not a map: no
// work at start-up (docs/contract.md §6).
func isResponseKey(k string) bool {
	switch k {
	case "access_token", "token_type", "expires_in", "refresh_token",
		"refresh_expires_in", "scope", "id_token", "geolocation",
		"session_state", "not-before-policy",
		keyObtainedAt, keyExpiresAt, keyRefreshExpires, keyTokenURL,
		keyAuthStyle, keySeedFingerprint, keyRefreshFixed, keyRefusal:
		return true
	}
	return false
}

// fileKeyOrder is the order fields are written in, so that the file reads like the
// example in docs/security.md; other fields follow in sorted order.
var fileKeyOrder = []string{
	"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in",
	"scope", "id_token", "geolocation", keyCompanyUUID, keyObtainedAt, keyExpiresAt,
	keyRefreshExpires, keyTokenURL, keyAuthStyle, keySeedFingerprint, keyRefreshFixed, keyRefusal,
}

// Token is one stored grant: the token endpoint's response, field by field as it was
// received, plus the absolute times tokenkeeper derives from it.
//
// Zero times have a meaning: a zero Expiry means the access token's lifetime is
// unknown and it is treated as expired; a zero RefreshExpiry means the endpoint
// advertised none, so the refresh token is tried and an invalid_grant answer is what
// tells it is dead.
type Token struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	Scope        string
	Geolocation  string // Concur: the base URL for refresh requests and API calls
	CompanyUUID  string // Concur: added as the tutorial does

	ObtainedAt    time.Time // start of the request that produced the access token
	Expiry        time.Time // access token expiry; zero = unknown
	RefreshExpiry time.Time // refresh token expiry; zero = none advertised
	TokenURL      string    // endpoint that issued it
	AuthStyle     string    // client authentication that worked ("params" or "header"), when probed

	// SeedFingerprint identifies the credentials.json refreshToken that started this
	// grant (refresh_token grant only), so that a spent seed is never sent again.
	SeedFingerprint string

	// RefreshFixed: the last refresh left the refresh token's expiry where it
	// was (Concur's absolute expiry), so renewals do not keep it alive. False
	// after a new grant (nothing known yet) or a refresh that moved it later
	// (a rotating or sliding refresh token, Keycloak's).
	RefreshFixed bool
	// Refusal remembers a refused grant (refusal.go); nil when none.
	Refusal *Refusal

	raw     map[string]json.RawMessage
	dropped []string // why an answer's fields were left out (ParseResponse); never values
}

// clockSkew is how far in the future obtained_at may lie and the token still be
// trusted: a host and an NTP server disagreeing by a little, not a clock set back.
const clockSkew = 2 * time.Minute

// Valid reports whether the access token can be handed out at now and stays valid for
// at least margin. The margin is capped at half the token's lifetime, so a 30-second
// token is not renewed on every call. A nil Token is not valid.
//
// The clock is not trusted blindly (docs/contract.md §2 "Clock"): a token obtained more than
// clockSkew after now (the clock was set back since) is not valid, nor is one whose
// expiry does not follow its obtained_at. Validity thus never exceeds the token's
// own lifetime (expires_at − obtained_at) by more than the skew. An access token
// that is not usable (checkAccessToken: a file written before that check, or by
// hand) is not valid either: it is renewed rather than handed out.
func (t *Token) Valid(now time.Time, margin time.Duration) bool {
	if t == nil || t.AccessToken == "" || t.Expiry.IsZero() || checkAccessToken(t.AccessToken) != "" {
		return false
	}
	if !t.ObtainedAt.IsZero() && (!t.Expiry.After(t.ObtainedAt) || t.fromFuture(now)) {
		return false
	}
	return now.Before(t.RenewAt(margin))
}

// trustedFrom is the first instant at which t can be trusted: a clock that
// reads earlier was set back since t was obtained (more than clockSkew before
// obtained_at). Zero when obtained_at is unknown. Valid, Decide and the
// TokenSource's cache all ask this one rule.
func (t *Token) trustedFrom() time.Time {
	if t.ObtainedAt.IsZero() {
		return time.Time{}
	}
	return t.ObtainedAt.Add(-clockSkew)
}

// fromFuture tells whether t was obtained in now's future: the clock was set
// back since.
func (t *Token) fromFuture(now time.Time) bool { return now.Before(t.trustedFrom()) }

// RenewAt is the instant from which Valid(now, margin) is false: the expiry less
// the margin, the margin capped at half the token's lifetime. Tools that cache a
// token (kubectl, git) are told to ask again then. Zero for an unknown expiry.
func (t *Token) RenewAt(margin time.Duration) time.Time {
	if t == nil || t.Expiry.IsZero() {
		return time.Time{}
	}
	if !t.ObtainedAt.IsZero() {
		// max: an expiry before obtained_at (a clock set back, a hand-edited
		// file) must not turn into a negative margin.
		if half := t.Expiry.Sub(t.ObtainedAt) / 2; margin > half {
			margin = max(half, 0)
		}
	}
	return t.Expiry.Add(-margin)
}

// RefreshUsable reports whether the refresh token is worth sending at now: present
// and not known to be expired.
func (t *Token) RefreshUsable(now time.Time) bool {
	if t == nil || t.RefreshToken == "" {
		return false
	}
	return t.RefreshExpiry.IsZero() || now.Before(t.RefreshExpiry)
}

// Raw returns a field of the stored response as received.
func (t *Token) Raw(key string) (json.RawMessage, bool) {
	v, ok := t.raw[key]
	return v, ok
}

// ParseResponse reads a token endpoint's success body. start is when the request
// was sent: lifetimes count from it, so network delay errs on the safe side.
// contentType may be empty; form-encoded bodies (GitHub style) are accepted.
//
// A malformed field does not throw the answer away: the answer may carry a rotated
// refresh token, the only copy of the grant (docs/contract.md §2, "A rotated refresh token is
// never dropped"). The field is left out of the token, which lists why (names and
// reasons, never values); an unreadable expires_in leaves the expiry unknown, so
// the next run renews. An access token that is not usable (see checkAccessToken)
// is dropped the same way.
// The body is a token when it still has an access token or a refresh token (a
// non-empty string); one with only a refresh token has AccessToken "", and the
// caller keeps the access token it had beside it (merge).
func ParseResponse(body []byte, contentType string, start time.Time) (*Token, error) {
	t, err := parseResponse(body, contentType, start)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	return t, nil
}

// parseResponse is ParseResponse with errors in words that follow another
// message's ("not a token (…)"), without the package's name.
func parseResponse(body []byte, contentType string, start time.Time) (*Token, error) {
	raw, err := decodeResponse(body, contentType)
	if err != nil {
		return nil, err
	}
	t := &Token{raw: raw, ObtainedAt: start.UTC()}
	t.readAnswer()
	if t.AccessToken == "" && t.RefreshToken == "" {
		msg := "token response has no access_token"
		if len(t.dropped) > 0 {
			msg = "token response has no usable access_token (" + strings.Join(t.dropped, "; ") + ")"
		}
		return nil, errors.New(msg)
	}
	return t, nil
}

// readAnswer fills the token from an answer's fields, dropping (from the token and
// from what will be saved) each one that is malformed, so that the record saved
// reads back (docs/contract.md §2, "What is saved is usable").
func (t *Token) readAnswer() {
	drop := func(key string, why string) {
		delete(t.raw, key)
		t.dropped = append(t.dropped, why)
	}
	for _, f := range [...]struct {
		key string
		dst *string
	}{
		{"refresh_token", &t.RefreshToken}, {"access_token", &t.AccessToken}, {"token_type", &t.TokenType},
		{"scope", &t.Scope}, {"geolocation", &t.Geolocation},
	} {
		if err := stringField(t.raw, f.key, f.dst); err != nil {
			drop(f.key, err.Error())
		}
	}
	if !tokenTypeOK(t.TokenType) {
		t.TokenType = ""
		drop("token_type", `field "token_type": not a word of visible ASCII`)
	}
	if why := checkAccessToken(t.AccessToken); why != "" {
		t.AccessToken = ""
		drop("access_token", why)
	}
	t.readExpiry(drop)
	var err error
	if t.RefreshExpiry, err = refreshExpiry(t.raw, t.ObtainedAt); err != nil {
		drop("refresh_expires_in", err.Error()+": refresh token expiry unknown")
	}
}

// readExpiry sets the access token's expiry: expires_in from the request start, else
// the exp claim of a JWT, else unknown. An expires_in that cannot be read leaves it
// unknown; 0 is read as "not advertised", as refresh_expires_in's 0 is. An access
// token that expired on arrival (a negative expires_in, an exp not after the start)
// is dropped: handing it out would be handing out a dead token.
func (t *Token) readExpiry(drop func(key, why string)) {
	f, ok, err := number(t.raw, "expires_in")
	switch {
	case err != nil:
		drop("expires_in", err.Error()+": access token expiry unknown")
		ok = false
	case ok && f < 0:
		if t.AccessToken != "" {
			t.AccessToken = ""
			drop("access_token", fmt.Sprintf("the access token expired on arrival (expires_in %g)", f))
		}
		delete(t.raw, "expires_in")
		return
	}
	if ok && f > 0 {
		if t.Expiry = t.ObtainedAt.Add(clampSeconds(f)); !t.Expiry.After(t.ObtainedAt) && t.AccessToken != "" {
			// 1e-300 seconds: no time at all.
			t.AccessToken, t.Expiry = "", time.Time{}
			drop("access_token", fmt.Sprintf("the access token expired on arrival (expires_in %g)", f))
		}
		return
	}
	if exp, ok := jwtExpiry(t.AccessToken); ok {
		if !exp.After(t.ObtainedAt) {
			t.AccessToken = ""
			drop("access_token", "the access token expired on arrival (its JWT exp claim is "+exp.Format(time.RFC3339)+")")
			return
		}
		// Capped as expires_in is: exp may say year 5000.
		t.Expiry = minTime(exp, t.ObtainedAt.Add(maxLifetime))
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// maxAccessToken bounds an access token: with its refresh token and the other
// fields the lifecycle needs, it must fit in the space reserved before a refresh
// (reserveBytes), and no HTTP server takes a bearer header that long anyway.
const maxAccessToken = 32 << 10

// checkAccessToken says why an access token from an answer cannot be used, or ""
// (an empty one is no access token, not a bad one). docs/contract.md §2 "What is saved is
// usable": visible ASCII only; real tokens carry '!' and more, so RFC 6750's
// b64token is too strict. The value is never quoted: it is a secret.
func checkAccessToken(tok string) string {
	switch {
	case tok == "":
		return ""
	case len(tok) > maxAccessToken:
		return fmt.Sprintf("the access token is %d bytes long, more than tokenkeeper keeps (%d)", len(tok), maxAccessToken)
	case !visibleASCII(tok):
		return "the access token holds a space, a line break, a control character or non-ASCII text"
	}
	return ""
}

// tokenTypeOK is the rule for a token_type, in an answer and in a record:
// empty, or one word of visible ASCII. It goes into Authorization headers
// (oauth2.Token.Type), token -o env's lines and a child's environment, where
// a line break or an escape would be a header of its own or reach a terminal.
func tokenTypeOK(s string) bool { return s == "" || len(s) <= 64 && visibleASCII(s) }

// visibleASCII reports whether s is made of the bytes 0x21–0x7E only.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ParseFile reads a stored token file: tokenkeeper's own format, or the one the
// tutorial's Node sample writes (no normalised times: its access-token expiry is then
// unknown, so it is refreshed; its refresh_expires_in is an epoch).
func ParseFile(data []byte) (*Token, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // as credentials.json: Windows editors add a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, describeJSONError(data, err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON object")
	}
	t := &Token{raw: raw}
	if err := t.readResponseFields(); err != nil {
		return nil, err
	}
	if !tokenTypeOK(t.TokenType) {
		t.TokenType = "" // as an answer's: the type is Bearer, the token kept
	}
	// Slices, not map literals: this is the hot path of `tokenkeeper token`,
	// and a map literal is built anew on every call.
	for _, f := range [...]struct {
		key string
		dst *string
	}{
		{keyCompanyUUID, &t.CompanyUUID}, {keyTokenURL, &t.TokenURL},
		{keyAuthStyle, &t.AuthStyle}, {keySeedFingerprint, &t.SeedFingerprint},
	} {
		if err := stringField(raw, f.key, f.dst); err != nil {
			return nil, err
		}
	}
	for _, f := range [...]struct {
		key string
		dst *time.Time
	}{
		{keyObtainedAt, &t.ObtainedAt}, {keyExpiresAt, &t.Expiry}, {keyRefreshExpires, &t.RefreshExpiry},
	} {
		if err := timeField(raw, f.key, f.dst); err != nil {
			return nil, err
		}
	}
	if v, ok := raw[keyRefreshFixed]; ok && string(bytes.TrimSpace(v)) == "true" {
		t.RefreshFixed = true
	}
	var err error
	if t.Refusal, err = readRefusal(raw); err != nil {
		return nil, fmt.Errorf("refusal: %w", err)
	}
	if _, ok := raw[keyRefreshExpires]; !ok {
		// A file without normalised times (the tutorial's): only an absolute
		// refresh_expires_in can be placed in time without knowing when it was issued.
		var err error
		if t.RefreshExpiry, err = refreshExpiry(raw, t.ObtainedAt); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readResponseFields fills the string fields every response and file share.
func (t *Token) readResponseFields() error {
	for _, f := range [...]struct {
		key string
		dst *string
	}{
		{"access_token", &t.AccessToken}, {"token_type", &t.TokenType},
		{"refresh_token", &t.RefreshToken}, {"scope", &t.Scope}, {"geolocation", &t.Geolocation},
	} {
		if err := stringField(t.raw, f.key, f.dst); err != nil {
			return err
		}
	}
	return nil
}

// MarshalFile renders the token file: every field as received, then the normalised
// ones, indented, keys in a fixed order.
func (t *Token) MarshalFile() ([]byte, error) {
	return marshalOrdered(t.fileFields())
}

// essentialFields are the fields the lifecycle needs, in groups, in the order they
// are kept when a record must be cut down to fit the space reserved for it before a
// refresh (docs/contract.md §2 step 6): first the refresh token, always kept (a spent refresh
// token is never lost); then where and how to renew, and the seed and company the
// grant came from; then the access token with its lifetime; then geolocation and
// scope. Refusal data, when the record keeps it, belongs beside the token URL.
var essentialFields = [][]string{
	{"refresh_token", "refresh_expires_in", keyRefreshExpires},
	{keyTokenURL, keyRefusal}, {keyAuthStyle}, {keySeedFingerprint}, {keyCompanyUUID}, {keyRefreshFixed},
	{"access_token", "expires_in", keyExpiresAt, keyObtainedAt, "token_type"},
	{"geolocation"}, {"scope"},
}

// marshalFileWithin is MarshalFile for a record that must fit in limit bytes: when
// the whole record does not (a 150 KB id_token), it is cut down to essentialFields,
// group by group while they fit, and dropped names the fields left out (nil when
// none was). The refresh token is kept even if it alone exceeds limit: no real
// endpoint sends one that long (they are at most a few KB), and losing it would lose
// the grant; the access token is at most maxAccessToken, so with the other
// essential fields it fits in 64 KiB.
func (t *Token) marshalFileWithin(limit int) (data []byte, dropped []string, err error) {
	all := t.fileFields()
	if data, err = marshalOrdered(all); err != nil || len(data) <= limit {
		return data, nil, err
	}
	cut := map[string]json.RawMessage{}
	for i, group := range essentialFields {
		trial := maps.Clone(cut)
		for _, k := range group {
			if v, ok := all[k]; ok {
				trial[k] = v
			}
		}
		d, err := marshalOrdered(trial)
		if err != nil {
			return nil, nil, err
		}
		if i == 0 || len(d) <= limit {
			cut, data = trial, d
		}
	}
	for k := range all {
		if _, ok := cut[k]; !ok {
			dropped = append(dropped, k)
		}
	}
	sort.Strings(dropped)
	return data, dropped, nil
}

// record is what saving t writes, within limit bytes (marshalFileWithin), and the
// token as it will read back: when fields were dropped, the token the run hands
// out is the one saved. On error, saved is nil.
func (t *Token) record(limit int) (data []byte, saved *Token, dropped []string, err error) {
	data, dropped, err = t.marshalFileWithin(limit)
	if err != nil || dropped == nil {
		return data, t, nil, err
	}
	if saved, err = ParseFile(data); err != nil {
		return nil, nil, nil, fmt.Errorf("refresh: the record cut down does not read back: %w", err)
	}
	return data, saved, dropped, nil
}

// withoutTokens is t with no token left in it: only the fields that say
// what the grant was are kept — its times, scope, endpoint, geolocation,
// company, seed fingerprint and refusal — and every other field of the
// answer is dropped, whatever its name or nesting (tokens come as
// "tokens": {...}, mac_key, jwt, session_key…). It is what logout sets
// aside of a grant it ended: a record a person may read, not a grant to steal.
func (t *Token) withoutTokens() *Token {
	c := *t
	c.AccessToken, c.RefreshToken = "", ""
	c.raw = map[string]json.RawMessage{}
	for k, v := range t.raw {
		switch k {
		case "token_type", "expires_in", "refresh_expires_in", "scope", "geolocation",
			keyObtainedAt, keyExpiresAt, keyRefreshExpires, keyTokenURL, keyCompanyUUID,
			keyAuthStyle, keySeedFingerprint, keyRefreshFixed, keyRefusal:
			c.raw[k] = v
		}
	}
	return &c
}

// fileFields are the fields of the token file: every field as received, then the
// normalised ones.
func (t *Token) fileFields() map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(t.raw)+8)
	for k, v := range t.raw {
		out[k] = v
	}
	setString := func(key, v string) {
		if v == "" {
			delete(out, key)
			return
		}
		out[key], _ = json.Marshal(v)
	}
	// Expiries are written in whole seconds, rounded down (the safe side);
	// obtained_at to the millisecond, to tell which of two renewals came first.
	setTime := func(key, layout string, v time.Time) {
		if v.IsZero() {
			delete(out, key)
			return
		}
		if v.After(maxFileTime) { // RFC 3339 has four-digit years
			v = maxFileTime
		}
		setString(key, v.UTC().Format(layout))
	}
	// Fields set in code (a geolocation learnt from Concur's code 16) are
	// written; empty ones leave what the server sent, e.g. "scope": "".
	for key, v := range map[string]string{"token_type": t.TokenType, "scope": t.Scope, "geolocation": t.Geolocation} {
		if v != "" {
			setString(key, v)
		}
	}
	setString("access_token", t.AccessToken)
	setString("refresh_token", t.RefreshToken)
	setString(keyCompanyUUID, t.CompanyUUID)
	setString(keyTokenURL, t.TokenURL)
	setString(keyAuthStyle, t.AuthStyle)
	setString(keySeedFingerprint, t.SeedFingerprint)
	setTime(keyObtainedAt, "2006-01-02T15:04:05.000Z07:00", t.ObtainedAt)
	setTime(keyExpiresAt, time.RFC3339, t.Expiry)
	setTime(keyRefreshExpires, time.RFC3339, t.RefreshExpiry)
	delete(out, keyRefreshFixed)
	if t.RefreshFixed {
		out[keyRefreshFixed] = json.RawMessage("true")
	}
	delete(out, keyRefusal)
	if t.Refusal != nil {
		out[keyRefusal], _ = json.Marshal(t.Refusal)
	}
	return out
}

func marshalOrdered(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	seen := make(map[string]bool, len(fileKeyOrder))
	for _, k := range fileKeyOrder {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)

	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		var val bytes.Buffer
		if err := json.Indent(&val, m[k], "  ", "  "); err != nil {
			return nil, fmt.Errorf("refresh: field %s: %w", name, err)
		}
		fmt.Fprintf(&b, "  %s: %s", name, val.Bytes())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// merge makes the token a refresh produced from old: a response without a
// refresh_token keeps the old one and its expiry (RFC 6749 §6); fields the response
// did not repeat are kept, except the old access token's lifetime. A response
// without a usable access token (ParseResponse dropped it) keeps the old access
// token with its lifetime, beside the new refresh token (docs/contract.md §2, "What is saved is
// usable").
func (t *Token) merge(old *Token) {
	if old == nil {
		return
	}
	keepAccess := t.AccessToken == ""
	if keepAccess {
		// The old access token's own fields, whatever the answer said of its own.
		for _, k := range [...]string{"access_token", "expires_in", keyExpiresAt, keyObtainedAt, "token_type"} {
			delete(t.raw, k)
		}
		t.AccessToken, t.Expiry, t.ObtainedAt, t.TokenType = old.AccessToken, old.Expiry, old.ObtainedAt, old.TokenType
	}
	keep := func(key string) {
		if _, ok := t.raw[key]; !ok {
			if v, ok := old.raw[key]; ok {
				t.raw[key] = v
			}
		}
	}
	for k := range old.raw {
		switch k {
		case keyRefusal, keyRefreshFixed:
			continue // a renewal that worked ends a refusal; the new answer says if it extends
		case "expires_in", keyExpiresAt, keyObtainedAt:
			if !keepAccess {
				continue
			}
		case "refresh_expires_in", keyRefreshExpires:
			if t.RefreshToken != "" {
				continue
			}
		}
		keep(k)
	}
	if t.RefreshToken == "" {
		t.RefreshToken = old.RefreshToken
		t.RefreshExpiry = old.RefreshExpiry
	}
	if t.Scope == "" {
		t.Scope = old.Scope
	}
	if t.TokenType == "" {
		t.TokenType = old.TokenType
	}
	if t.Geolocation == "" {
		t.Geolocation = old.Geolocation
	}
	t.CompanyUUID = cmp.Or(t.CompanyUUID, old.CompanyUUID)
	t.AuthStyle = cmp.Or(t.AuthStyle, old.AuthStyle)
	t.SeedFingerprint = cmp.Or(t.SeedFingerprint, old.SeedFingerprint)
}

// carryUnknown keeps, across a bootstrap, the fields of old that no token endpoint
// sent: those a newer tokenkeeper may have written.
func (t *Token) carryUnknown(old *Token) {
	if old == nil {
		return
	}
	for k, v := range old.raw {
		if _, ok := t.raw[k]; !ok && !isResponseKey(k) && k != keyCompanyUUID {
			t.raw[k] = v
		}
	}
}

// decodeResponse reads an answer as a JSON object or, GitHub style, a form. A body
// that is a JSON object is read as one whatever its Content-Type says (a JSON answer
// labelled as a form must not lose its refresh token); a UTF-8 BOM is skipped, as
// in every JSON file tokenkeeper reads.
func decodeResponse(body []byte, contentType string) (map[string]json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	raw := map[string]json.RawMessage{}
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &raw) == nil && raw != nil {
		return raw, nil
	}
	if mt == "application/x-www-form-urlencoded" || bytes.Contains(trimmed, []byte("access_token=")) || bytes.Contains(trimmed, []byte("refresh_token=")) {
		return decodeForm(trimmed)
	}
	return nil, fmt.Errorf("token response is not a JSON object (content type %q)", contentType)
}

func decodeForm(body []byte) (map[string]json.RawMessage, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("form-encoded token response: %w", err)
	}
	raw := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		raw[k], _ = json.Marshal(v[0])
	}
	return raw, nil
}

func stringField(raw map[string]json.RawMessage, key string, dst *string) error {
	v, ok := raw[key]
	if !ok || isNull(v) {
		return nil
	}
	// Most values are plain strings: no escapes, valid UTF-8. v is already
	// known to be valid JSON (it came out of a decoded object), so such a
	// string is its bytes between the quotes; that saves a decoder per field.
	if n := len(v); n >= 2 && v[0] == '"' && v[n-1] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		*dst = string(v[1 : n-1])
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("field %q: want a string, got %s", key, jsonKind(v))
	}
	return nil
}

func timeField(raw map[string]json.RawMessage, key string, dst *time.Time) error {
	var s string
	if err := stringField(raw, key, &s); err != nil || s == "" {
		return err
	}
	ts, err := time.Parse(time.RFC3339, s)
	// In UTC the year must stay within RFC 3339's 0000–9999 and after year 0:
	// "0000-01-01T00:00:00+01:00" is year -1 in UTC, which no RFC 3339 writer
	// (MarshalFile included) can write back.
	if y := ts.UTC().Year(); err != nil || y < 1 || y > 9999 {
		return fmt.Errorf("field %q: want an RFC 3339 time, got %s", key, quoteWhole(s))
	}
	*dst = ts.UTC()
	return nil
}

// number reads a JSON number or a numeric string (Concur documents expires_in as a
// string; samples show numbers; some servers send floats).
func number(raw map[string]json.RawMessage, key string) (float64, bool, error) {
	v, ok := raw[key]
	if !ok || isNull(v) {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		if jsonKind(v) == "a number" {
			// 1e400: valid JSON, out of float64's range.
			return 0, false, fmt.Errorf("field %q: number out of range", key)
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, false, fmt.Errorf("field %q: want a number, got %s", key, jsonKind(v))
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, false, fmt.Errorf("field %q: want a number, got %s", key, quoteWhole(s))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("field %q: not a finite number", key)
	}
	return f, true, nil
}

// lifetime reads a number of seconds (a number or a numeric string), clamped to
// [0, maxLifetime].
func lifetime(raw map[string]json.RawMessage, key string) (time.Duration, bool, error) {
	f, ok, err := number(raw, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	return clampSeconds(f), true, nil
}

func clampSeconds(f float64) time.Duration {
	if f <= 0 {
		return 0
	}
	if f >= maxLifetime.Seconds() {
		return maxLifetime
	}
	return time.Duration(f * float64(time.Second))
}

// refreshExpiry applies docs/contract.md §1: ≥ 1e9 is an epoch, a smaller positive value is
// seconds from the request start, 0 or absent is "none advertised". A relative value
// with no known start (a file without obtained_at) cannot be placed and is ignored.
func refreshExpiry(raw map[string]json.RawMessage, start time.Time) (time.Time, error) {
	f, ok, err := number(raw, "refresh_expires_in")
	if err != nil || !ok || f <= 0 {
		return time.Time{}, err
	}
	if f >= epochThreshold {
		f = math.Min(f, maxEpoch)
		return time.Unix(int64(f), 0).UTC(), nil
	}
	if start.IsZero() {
		return time.Time{}, nil
	}
	return start.Add(clampSeconds(f)), nil
}

// jwtExpiry reads the exp claim of an access token that is a JWT, without verifying
// it — as the KORE seed does; it only decides when to renew, never whom to trust.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 || f > maxEpoch {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// quoteWhole quotes a value of an answer or a record that is not what its
// field wants, whole or not at all (only its length): a value cut short
// could show part of a secret (an endpoint that echoes the refresh token it
// was sent into expires_in), which no redaction recognises once cut.
func quoteWhole(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("a string of %d bytes", len(s))
	}
	return strconv.Quote(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describeJSONError turns a JSON error into one that names line:column.
func describeJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("%d:%d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%d:%d: not a JSON object", line, col)
	}
	return err
}

func lineCol(data []byte, off int64) (int, int) {
	// encoding/json's offsets point just past the offending byte.
	pos := int(min(max(off-1, 0), int64(len(data))))
	before := data[:pos]
	line := 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}
