package cli

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/refresh"
)

// cmdGitCredential is git's credential helper (gitcredentials(7)): git runs
// `tokenkeeper … git-credential get|store|erase` with key=value lines on stdin.
func gitCredentialCommand() *command {
	return &command{
		name: "git-credential", args: "get|store|erase", summary: "git's credential helper: the access token as the password",
		long: `git's credential-helper protocol (gitcredentials(7)): get answers username
(gitUsername in credentials.json, else the provider's convention, else oauth2),
password=<access token> and password_expiry_utc; erase, which git sends after a
401, renews the token if the erased password is the stored one; store does
nothing. Only for https, and only for the host the token is for: gitHost in
credentials.json, else the token endpoint's host; for any other, nothing.`,
		example: `git config --global credential.https://github.com.helper ''
git config --global --add credential.https://github.com.helper '!tokenkeeper --profile github git-credential'`,
		maxArgs:   1,
		validArgs: func(*app) []string { return []string{"get", "store", "erase"} },
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return func(a *app, args []string) int {
				if len(args) != 1 {
					return a.usageError("git-credential: want one action: get, store or erase",
						"git runs it: "+gitHelperLine(runtime.GOOS, a.cmdLine("git-credential")))
				}
				return a.exit(a.gitCredential(args[0]))
			}
		},
	}
}

// gitHelperLine is the git config command that makes cmd (a tokenkeeper
// command line, its arguments quoted for a POSIX shell) git's credential
// helper for a host, in the shell of goos. git runs a helper that starts with
// "!" through a POSIX shell, Git for Windows through its own sh, so the
// helper's arguments keep sh quoting everywhere: a Windows path in single
// quotes keeps its backslashes and spaces. Only the quoting of the whole
// value differs: sh's single quotes on Unix, PowerShell's on Windows (cmd.exe
// would keep single quotes as part of the arguments).
func gitHelperLine(goos, cmd string) string {
	quote := singleQuote
	if goos == "windows" {
		quote = psQuote
	}
	return "git config --global --add credential.https://HOST.helper " + quote("!"+cmd)
}

// gitCredential answers one action of git's protocol.
//
//   - get: username (gitUsername in credentials.json, else the provider's
//     convention) and password=<access token>, renewed first when needed, with
//     password_expiry_utc. Only for https: the token is never handed to git for a
//     cleartext connection; and only for the token's host (gitHost); for
//     anything else it answers nothing, and git goes on to its other helpers or
//     asks.
//   - erase: git sends it when the server refused the password (a 401). If that
//     password is the stored access token, the token is renewed now (Force with
//     Stale: a no-op when another process renewed it already), so that the next
//     get hands out a good one. Any other password is not ours: nothing to do.
//   - store: nothing; the token file is the store.
func (a *app) gitCredential(action string) error {
	if action != "get" && action != "store" && action != "erase" {
		return usageErr(fmt.Sprintf("git-credential: unknown action %q", action), "the actions are get, store and erase; git gives them")
	}
	req, err := readGitCredential(a.stdin)
	if err != nil {
		return usageErr(err.Error(), "git writes this input; to try it by hand: printf 'protocol=https\\nhost=HOST\\n\\n' | "+a.cmdLine("git-credential get"))
	}
	switch action {
	case "get":
		return a.gitGet(req)
	case "erase":
		return a.gitErase(req)
	}
	return nil
}

func (a *app) gitGet(req map[string]string) error {
	if req["protocol"] != "https" {
		a.log.Debug("git-credential: not answering for a protocol other than https", "protocol", req["protocol"])
		return nil
	}
	a.inline("git asks again on its next fetch or push")
	a.oneDeadline()
	m, err := a.manager("tokenkeeper git-credential", true, false)
	if err != nil {
		return err
	}
	a.rememberOutage(m)
	if want := gitHost(m.Creds); !sameGitHost(req["host"], want) {
		// Not the host the token is for: git goes on to its other helpers.
		// With the helper set for every host, a repository or submodule on
		// any https host would otherwise get the token.
		a.log.Debug("git-credential: not answering for another host than the token's (gitHost in credentials.json)", "host", req["host"], "gitHost", want)
		return nil
	}
	r, err := a.ensure(m, refresh.Options{})
	if err != nil {
		return err
	}
	tok := r.Token // visible ASCII: the refresh package hands out no other (Token.Valid)
	var b strings.Builder
	fmt.Fprintf(&b, "username=%s\n", gitUsername(m.Creds))
	fmt.Fprintf(&b, "password=%s\n", tok.AccessToken)
	// When git (2.41 and later) and caching helpers stop using it: when
	// tokenkeeper would renew it.
	fmt.Fprintf(&b, "password_expiry_utc=%d\n", cacheUntil(tok, a.g.margin, time.Now()).Unix())
	_, err = io.WriteString(a.stdout, b.String())
	return err
}

func (a *app) gitErase(req map[string]string) error {
	password := req["password"]
	if password == "" {
		return nil
	}
	a.oneDeadline()
	m, err := a.manager("tokenkeeper git-credential erase", false, false)
	if err != nil {
		return err
	}
	if disk, err := m.Load(); err != nil || disk == nil || disk.AccessToken != password {
		return nil // not the token we hand out: someone else's credential
	}
	a.addSecrets(password)
	_, err = a.ensure(m, refresh.Options{Force: true, Stale: password})
	return err
}

// gitUsername is the username git is given beside the access token:
// gitUsername in credentials.json, else the provider's (credentials.Provider).
func gitUsername(c *credentials.Credentials) string {
	if c.GitUsername != "" {
		return c.GitUsername
	}
	return credentials.PresetFor(c).Behaviour().GitUsername(c)
}

// gitHost is the host git-credential hands the token to: gitHost in
// credentials.json, else the token endpoint's host (the issuer's when the
// token endpoint is discovered).
func gitHost(c *credentials.Credentials) string {
	if c.GitHost != "" {
		return c.GitHost
	}
	for _, raw := range []string{c.TokenURL, c.Issuer} {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return u.Host
		}
	}
	return ""
}

// sameGitHost compares git's host=[host[:port]] with want, ignoring case and
// https's default port.
func sameGitHost(got, want string) bool {
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), ":443") }
	return got != "" && norm(got) == norm(want)
}

// maxGitCredentialInput caps what git-credential reads: git's own requests are
// a few hundred bytes (a wwwauth[] header may add a few KiB).
const maxGitCredentialInput = 64 << 10

// readGitCredential reads git's key=value lines up to a blank line or the end
// of input. A key given more than once (capability[], wwwauth[]) keeps its
// last value; only protocol, host, path, username and password are used.
func readGitCredential(r io.Reader) (map[string]string, error) {
	br := bufio.NewReader(io.LimitReader(r, maxGitCredentialInput+1))
	out := map[string]string{}
	read, n := 0, 0
	for {
		n++
		line, err := br.ReadBytes('\n')
		read += len(line)
		if read > maxGitCredentialInput {
			return nil, fmt.Errorf("git-credential: input larger than %d KiB", maxGitCredentialInput>>10)
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if len(line) == 0 {
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("git-credential: read: %w", err)
			}
			return out, nil // a blank line or the end
		}
		key, value, ok := bytes.Cut(line, []byte("="))
		if !ok || len(key) == 0 {
			// Not quoted: a malformed line may hold a secret.
			return nil, fmt.Errorf("git-credential: line %d of the input is not key=value", n)
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, errors.New("git-credential: a NUL byte in the input")
		}
		out[string(key)] = string(value)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("git-credential: read: %w", err)
		}
	}
}
