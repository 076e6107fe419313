package etcd

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Config
		err  string
	}{
		{in: "etcd://127.0.0.1:2379", want: Config{Endpoints: []string{"http://127.0.0.1:2379"}, Prefix: "/tokenkeeper"}},
		{in: "etcd://a:1,b:2/team/x/", want: Config{Endpoints: []string{"http://a:1", "http://b:2"}, Prefix: "/team/x"}},
		{in: "etcd://127.0.0.1:1/team?user=bot@corp.example", want: Config{Endpoints: []string{"http://127.0.0.1:1"}, Prefix: "/team", User: "bot@corp.example"}},
		{in: "etcds://a:1/team?user=bot", want: Config{Endpoints: []string{"https://a:1"}, Prefix: "/team", User: "bot", TLS: true}},
		{in: "etcd://localhost:1,[::1]:2?user=bot", want: Config{Endpoints: []string{"http://localhost:1", "http://[::1]:2"}, Prefix: "/tokenkeeper", User: "bot"}},
		// A password in clear text goes nowhere but to loopback.
		{in: "etcd://127.0.0.1:1,a:1?user=bot", err: "in clear text to a; use etcds://"},
		{in: "etcd://10.0.0.1:2379?user=bot", err: "in clear text to 10.0.0.1"},
		{in: "etcds://[::1]:2379/p?ca=/c.pem&cert=/u.pem&key=/u.key&user=bot",
			want: Config{Endpoints: []string{"https://[::1]:2379"}, Prefix: "/p", TLS: true, CAFile: "/c.pem", CertFile: "/u.pem", KeyFile: "/u.key", User: "bot"}},
		{in: "http://a:1", err: "unknown scheme"},
		{in: "a:1", err: "want etcd://"},
		{in: "etcd://", err: "no HOST:PORT"},
		{in: "etcd://a", err: "want HOST:PORT"},
		{in: "etcd://a:0", err: "bad port"},
		{in: "etcd://a:+1", err: "bad port"},
		{in: "etcd://a:1,b:-0", err: "bad port"},
		{in: "etcd://a\x01:1", err: "bad host"},
		{in: "etcd://a\x7f:1", err: "bad host"},
		{in: "etcd://a{b:1", err: "bad host"},
		{in: "etcd://a%41:1", err: "bad host"},
		{in: "etcd://a:1/x/../y", err: "segment"},
		{in: "etcd://bot:hunter2@a:1", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://a:1?password=hunter2", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://a:1?ca=/c.pem", err: "need etcds://"},
		{in: "etcds://a:1?cert=/u.pem", err: "go together"},
		{in: "etcd://a:1?colour=red", err: "unknown query parameter"},
		{in: "etcd://bot:hun?ter2@a:1", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://bot:hun/ter2@a:1,b:2/p", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://bot:h=u?n/t#e@r2@a:1?user=x", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://a:1?user=bot&pass%77ord=hunter2", err: "TOKENKEEPER_STORE_PASSWORD"},
		{in: "etcd://a:1?user=bot&pass=hunter2", err: "unknown query parameter"},
		{in: "etcd://a:1?user=bot&hunter2", err: "unknown query parameter"},
		{in: "etcd://a:1?user=", err: "want one non-empty value"},
		{in: "etcd://a:1?user=bot&password=hunter2%zz", err: "not URL-encoded"},
	} {
		got, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURL(%q): got %v, want an error with %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseURL(%q): the error shows the password: %v", tc.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseURL(got.String()); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("ParseURL(String()) = %+v, %v; want %+v", again, err, got)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"etcd://a:1", "etcds://a:1,b:2/p?ca=x&user=u", "etcd://u:p@a:1", "etcd://a:1?password=x", "etcd://a:+1", "etcd://a\x01:1", "etcd://a:1?user=u@b&password=SECRET"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseURL(s)
		if err != nil {
			// Only ?password=SECRET, one parameter of the query, is a secret:
			// the scheme, hosts, prefix and ?user= are shown by design, and
			// "password=SECRET" may stand in them too.
			_, rest, ok := strings.Cut(s, "://")
			_, q, _ := strings.Cut(rest, "?")
			if ok && strings.Count(s, "SECRET") == 1 && slices.Contains(strings.Split(q, "&"), "password=SECRET") &&
				strings.Contains(err.Error(), "SECRET") {
				t.Fatalf("error shows the password: %v", err)
			}
			return
		}
		if _, err := ParseURL(c.String()); err != nil {
			t.Fatalf("ParseURL(%q).String() = %q does not parse: %v", s, c.String(), err)
		}
		// An endpoint is a URL that a request can be made to: a bad one must be
		// an error now, not a request that fails until the timeout and is
		// taken for an unreachable store.
		for _, e := range c.Endpoints {
			if _, err := http.NewRequest(http.MethodPost, e+"/v3/kv/range", nil); err != nil {
				t.Fatalf("ParseURL(%q): endpoint %q: %v", s, e, err)
			}
		}
	})
}

// FuzzAnswer feeds the decoders of etcd's answers (error bodies, ranges,
// transactions, watch lines) arbitrary bytes: none may panic.
func FuzzAnswer(f *testing.F) {
	for _, s := range []string{
		`{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}`,
		`{"header":{"revision":"2"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy","lease":"7"}],"count":"1"}`,
		`{"header":{"revision":"2"},"responses":[{"response_range":{"kvs":[{"key":"Zm9v","lease":"9"}]}}]}`,
		`{"result":{"header":{"revision":"2"},"events":[{"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"3"}}]}}`,
		`{"ID":99999999999999999999}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = answerError("http://x", 500, b, nil)
		var rr RangeResponse
		_ = json.Unmarshal(b, &rr)
		var tr TxnResponse
		if json.Unmarshal(b, &tr) == nil {
			_ = firstKV(&tr)
		}
		var n i64
		_ = n.UnmarshalJSON(b)
	})
}

// sanitize leaves no control character of any kind (C0, DEL, C1 such as
// U+009B, a terminal's CSI) and no invalid UTF-8, even where it cuts.
func TestSanitize(t *testing.T) {
	for _, s := range []string{
		"\x1b]0;pwned\x07\x1b[2J\u009b31m\u0085\x7f\xff",
		strings.Repeat("a", 199) + "é and more",
	} {
		got := sanitize(s)
		if !utf8.ValidString(got) || strings.ContainsFunc(got, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
			t.Errorf("sanitize(%q) = %q", s, got)
		}
	}
}

// TestClearText: status warns when the record would cross the network
// without TLS, which is every etcd:// member that is not this host's loopback.
func TestClearText(t *testing.T) {
	for in, want := range map[string]string{
		"etcd://127.0.0.1:2379":             "",
		"etcd://localhost:1,[::1]:2":        "",
		"etcd://127.0.0.1:1,etcd.corp:2379": "etcd.corp",
		"etcd://10.0.0.5:2379/team":         "10.0.0.5",
		"etcds://etcd.corp:2379?ca=ca.pem":  "",
	} {
		c, err := ParseURL(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := c.ClearText(); got != want {
			t.Errorf("%s: ClearText() = %q, want %q", in, got, want)
		}
	}
}
