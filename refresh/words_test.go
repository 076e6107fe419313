package refresh

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// cliWords finds what only a command line would say: the program's name as a
// command ("tokenkeeper login") or a flag ("--device").
var cliWords = regexp.MustCompile(`tokenkeeper |(^|[\s(,;:"'])--[a-z]`)

// checkWords fails when a message or hint of the library names a command or a
// flag (docs/contract.md §4: the library speaks of OAuth and files; the CLI adds commands).
func checkWords(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if m := cliWords.FindString(s); m != "" {
			t.Errorf("%s names a command or flag (%q): %q", what, m, s)
		}
	}
}

func checkError(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	checkWords(t, what, err.Error(), HintOf(err))
}

// TestMessagesNameNoCommand runs the library's failures — refusals by every row
// of the advice tables and every grant, failed logins and logouts, the lock, an
// unreadable record, the decision's own — and fails if any message or hint names
// a command or a flag.
func TestMessagesNameNoCommand(t *testing.T) {
	grants := []string{credentials.GrantPassword, credentials.GrantClientCredentials, credentials.GrantRefreshToken,
		credentials.GrantAuthorizationCode, credentials.GrantDeviceCode}
	for _, concur := range []bool{false, true} {
		for _, grant := range grants {
			c := &credentials.Credentials{TokenURL: "https://auth.example.com/token", GrantType: grant, Path: "/cfg/credentials.json"}
			if concur {
				c.TokenURL = "https://us.api.concursolutions.com/oauth2/v0/token"
			}
			m := &Manager{Creds: c, Paths: storage.Paths{TokenFile: "/st/t.json"}}
			var refusals []*EndpointError
			for _, code := range credentials.ProviderOf(credentials.DefaultTokenURL).(interface{ Codes() []int }).Codes() {
				refusals = append(refusals, &EndpointError{URL: c.TokenURL, Status: 400, Code: "invalid_grant", ProviderCode: code, Geolocation: "https://eu2.api.concursolutions.com"})
			}
			for code := range oauthCodes() {
				refusals = append(refusals, &EndpointError{URL: c.TokenURL, Status: 400, Code: code})
			}
			for _, st := range []int{0, 302, 401, 404, 405, 418} {
				refusals = append(refusals, &EndpointError{URL: c.TokenURL, Status: st, Description: "x"})
			}
			for _, ee := range refusals {
				what := fmt.Sprintf("%s concur=%v refusal %d/%q/%d", grant, concur, ee.Status, ee.Code, ee.ProviderCode)
				checkError(t, what, m.classify(ee))
				for _, device := range []bool{false, true} {
					checkError(t, what+" at login", m.loginError(ee, device))
				}
				checkError(t, what+" at logout", m.revokeError(ee))
			}
			transient := &TransientError{URL: c.TokenURL, Err: errors.New("connection refused")}
			for _, err := range []error{transient, context.Canceled, &LoginError{Code: "access_denied"}, &LoginError{Code: "expired_token"},
				&LoginError{Code: "invalid_scope"}, &LoginError{Reason: "timed out"}, errors.New("odd")} {
				for _, device := range []bool{false, true} {
					checkError(t, fmt.Sprintf("%s login %v", grant, err), m.loginError(err, device))
				}
				checkError(t, fmt.Sprintf("%s classify %v", grant, err), m.classify(err))
				checkError(t, fmt.Sprintf("%s revoke %v", grant, err), m.revokeError(err))
			}
			checkError(t, grant+" needs login", needsLogin(c, "/st/t.json"))
			if err := spentSeed(State{Creds: c, Now: time.Now()}, &Token{RefreshToken: c.RefreshToken}); err != nil {
				checkError(t, grant+" spent seed", err)
			}
			now := time.Now()
			checkWords(t, grant+" refresh warnings", RefreshWarnings(c, &Token{RefreshToken: "r", Expiry: now.Add(time.Hour),
				RefreshExpiry: now.Add(time.Minute), RefreshFixed: true}, now, DefaultWarnBefore)...)
			checkWords(t, grant+" reauth advice", reauthAdvice(c))
		}
	}
	for _, err := range []error{&storage.LockBusyError{Path: "/st/t.json.lock", Holder: "pid=1"}, context.Canceled, errors.New("read-only file system"),
		&storage.RecordError{Name: "/st/t.json", Msg: "is a FIFO", Hint: "remove it"}} {
		checkError(t, fmt.Sprintf("lock %v", err), lockError(err))
	}
	for _, err := range []error{&storage.RecordError{Name: "/st/t.json", Msg: "is a FIFO", Hint: "remove it"}, fs.ErrPermission, syscall.EISDIR, errors.New("EMFILE")} {
		checkError(t, fmt.Sprintf("record %v", err), unreadableRecord(err, "/st/t.json"))
	}
}

// cliFlag is a flag in a text: "--dir", "(--state-dir". cliCommand is the
// program named with one of its commands: "tokenkeeper login".
var (
	cliFlag    = regexp.MustCompile(`(^|[\s(,;:"'])--[a-z]`)
	cliCommand = regexp.MustCompile(`tokenkeeper (init|setup|refresh|token|login|logout|status|profiles|exec|watch|serve|store|demo|completion|git-credential|version|help)\b`)
)

// TestLibraryTextsNameNoFlag reads every string literal of the library's
// packages (refresh, credentials, storage and its stores; not their tests) and
// fails on one that names a flag or a command: a message of the library speaks
// of OAuth and files (docs/contract.md §4), and the CLI adds its own words.
func TestLibraryTextsNameNoFlag(t *testing.T) {
	for _, dir := range []string{".", "../credentials", "../storage", "../storage/etcd"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		files := 0
		for _, e := range entries {
			name := filepath.Join(dir, e.Name())
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				if m := cliFlag.FindString(s); m != "" {
					t.Errorf("%s: %q names a flag (%q)", name, s, m)
				}
				if m := cliCommand.FindString(s); m != "" {
					t.Errorf("%s: %q names a command (%q)", name, s, m)
				}
				return true
			})
		}
		if files == 0 {
			t.Fatalf("%s: no Go file", dir)
		}
	}
}
