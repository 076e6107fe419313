package redact

import (
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"
)

// loop runs fn as a benchmark and reports its CPU time per op.
func loop(b *testing.B, fn func()) {
	start, n := cpuTime(), 0
	for b.Loop() {
		fn()
		n++
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(n), "cpu-ms/op")
}

// benchSecrets is what a run learns: a client secret, a refresh token, an
// access token that is a JWT, and the Basic value.
func benchSecrets() []string {
	r := rand.New(rand.NewPCG(1, 2))
	word := func(n int) string {
		const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		b := make([]byte, n)
		for i := range b {
			b[i] = abc[r.IntN(len(abc))]
		}
		return string(b)
	}
	jwt := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + word(1200) + "." + word(342)
	list := Add(nil, "cs-"+word(40), "rt-"+word(60), jwt)
	return Add(list, Basic("app-id", "cs-secret")...)
}

var benchBodies = map[string]func() string{
	"prose":     func() string { return strings.Repeat("the quick brown fox jumps over the lazy dog. ", 1<<20/45) },
	"json":      func() string { return strings.Repeat(`{"error":"invalid_grant","d":"a\u0041\/b"},`, 1<<20/42) },
	"pct25":     func() string { return "%" + strings.Repeat("25", 1<<19) + "41" },
	"pctall":    func() string { return strings.Repeat("%41", 1<<20/3) },
	"amphash":   func() string { return strings.Repeat("&#", 1<<19) },
	"amphash65": func() string { return strings.Repeat("&#65", 1<<18) },
	"backslash": func() string { return strings.Repeat(`\`, 1<<20) },
	"bsquote":   func() string { return strings.Repeat(`\\`, 1<<19) + `"` },
	"onechar":   func() string { return strings.Repeat("a", 1<<20) },
	"base64":    func() string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 3<<18))) },
	"zwsp":      func() string { return strings.Repeat("a\u200b", 1<<20/4) },
}

// BenchmarkText1MiB: what redacting an endpoint's largest answer costs.
func BenchmarkText1MiB(b *testing.B) {
	list := benchSecrets()
	b.Logf("%d entries", len(list))
	for name, body := range benchBodies {
		s := body()
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			loop(b, func() { Text(s, list) })
		})
	}
}

// BenchmarkTextRepeatedSecret: a secret of one repeated character against a
// body of that character.
func BenchmarkTextRepeatedSecret(b *testing.B) {
	list := Add(nil, strings.Repeat("a", 2000)+"b")
	s := strings.Repeat("a", 1<<20)
	b.SetBytes(int64(len(s)))
	loop(b, func() { Text(s, list) })
}

// naiveHide is hide as a loop over the list, each value searched for on its
// own: what the index must agree with.
func naiveHide(s string, secrets []string) (string, bool) {
	hidden := make([]bool, len(s))
	found := false
	mark := func(from, to int) {
		found = true
		for i := from; i < to; i++ {
			hidden[i] = true
		}
	}
	f, pos := folded(s, true)
	for _, v := range secrets {
		if len(v) < MinAnywhere {
			wholeMatches(s, v, mark)
			continue
		}
		for off := 0; ; {
			i := strings.Index(f[off:], v)
			if i < 0 {
				break
			}
			i += off
			mark(pos[i], pos[i+len(v)-1]+1)
			off = i + 1
		}
	}
	if !found {
		return s, false
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hidden[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Mark)
		for i < len(s) && hidden[i] {
			i++
		}
	}
	return b.String(), true
}

// FuzzHideIndex: the one-pass search hides what searching for each value on
// its own hides. The seeds hold values of a short period, which the index
// follows with a scanner.
func FuzzHideIndex(f *testing.F) {
	f.Add(strings.Repeat("a", 300), strings.Repeat("a", 70), "aaaaaaaa")
	f.Add(strings.Repeat("ab", 200)+"c", strings.Repeat("ab", 40)+"c", "ABABABAB")
	f.Add("x s3cret-value y S3CRET-VALUE", "s3cret-value", "prof")
	f.Fuzz(func(t *testing.T, s, v, w string) {
		if len(v) > 200 || len(w) > 200 {
			return
		}
		list := Add(nil, v, w)
		got, _ := newMatcher(list).hide(s)
		want, _ := naiveHide(s, list)
		if got != want {
			t.Errorf("hide(%q) = %q, searched value by value %q", s, got, want)
		}
	})
}

// BenchmarkAddHugeToken: an endpoint that hands out an access token of a
// megabyte, then a message redacted with it.
func BenchmarkAddHugeToken(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	t := make([]byte, 1<<20)
	for i := range t {
		t[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
	}
	tok := string(t)
	var list []string
	b.Run("add", func(b *testing.B) {
		loop(b, func() { list = Add(nil, tok) })
	})
	b.Logf("%d entries", len(list))
	b.Run("text", func(b *testing.B) {
		loop(b, func() { Text("tokenkeeper: error: the refresh token was refused", list) })
	})
}

// BenchmarkTextLine: one line of a message, as the CLI redacts each.
func BenchmarkTextLine(b *testing.B) {
	list := benchSecrets()
	b.Logf("%d entries", len(list))
	s := "tokenkeeper: error: the refresh token was refused (invalid_grant: token expired)"
	loop(b, func() { Text(s, list) })
}

// BenchmarkTextManySecrets: a list of many profiles' secrets (watch, serve)
// against an answer of a megabyte.
func BenchmarkTextManySecrets(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	var values []string
	for range 200 {
		v := make([]byte, 48)
		for i := range v {
			v[i] = "abcdefghijklmnopqrstuvwxyz0123456789+/="[r.IntN(39)]
		}
		values = append(values, string(v))
	}
	list := Add(nil, values...)
	b.Logf("%d entries", len(list))
	s := benchBodies["json"]()
	b.SetBytes(int64(len(s)))
	loop(b, func() { Text(s, list) })
}
