package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdMkProfiles writes credentials.json for profiles PREFIX<FROM>…PREFIX<TO>
// (two-digit numbers) under ROOT, for the script's fake endpoint:
//
//	mkprofiles ROOT PREFIX FROM TO [field=value…]
func cmdMkProfiles(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 4 {
		ts.Fatalf("usage: mkprofiles ROOT PREFIX FROM TO [field=value…]")
	}
	from, err := strconv.Atoi(args[2])
	ts.Check(err)
	to, err := strconv.Atoi(args[3])
	ts.Check(err)
	h := ts.Value("fake").(*fakeHolder)
	for i := from; i <= to; i++ {
		path := filepath.Join(args[0], fmt.Sprintf("%s%02d", args[1], i), "credentials.json")
		writeCreds(ts, h, append([]string{path}, args[4:]...))
	}
}

// cmdUnavailable starts a token endpoint that always answers 503 and sets
// $UNAVAILABLE_URL to it.
func cmdUnavailable(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! unavailable")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	ts.Defer(srv.Close)
	ts.Setenv("UNAVAILABLE_URL", strings.TrimSuffix(srv.URL, "/")+"/oauth2/v0/token")
}
