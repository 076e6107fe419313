//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// startWait runs tokenkeeper setup --wait with pipes; its stderr is what
// expect reads (through the same machinery as the terminal tests).
func startWait(t *testing.T, dir string, args ...string) (*ptySession, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(tokenkeeperBinary(t), append([]string{"setup", "--wait"}, args...)...)
	cmd.Env = append(cleanEnv(), "TOKENKEEPER_DIR="+dir)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s := &ptySession{t: t, cmd: cmd, tty: r, copied: make(chan struct{})}
	go func() {
		defer close(s.copied)
		s.readFrom(r)
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return s, &stdout
}

func (s *ptySession) readFrom(r *os.File) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		s.Write(buf[:n])
		if err != nil {
			return
		}
	}
}

// fakeCredsJSON is a credentials.json for srv with fields overridden.
func fakeCredsJSON(t *testing.T, srv *fakeserver.Server, override map[string]string) []byte {
	c := map[string]string{
		"tokenURL": srv.TokenURL(), "grantType": "password",
		"appID": fakeClientID, "clientSecret": fakeClientSecret,
		"companyUUID": fakeCompanyUUID, "companyRequestToken": fakeRequestToken,
		"credentialType": "authtoken", "authStyle": "params",
	}
	for k, v := range override {
		c[k] = v
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// saveByRename saves as vim, VS Code and `mv` do: a new file renamed over
// the old one.
func saveByRename(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), ".credentials.json.swp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// saveInPlace saves as nano and `cat >` do: truncate and write the same file.
func saveInPlace(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range [][]byte{data[:len(data)/2], data[len(data)/2:]} {
		if _, err := f.Write(part); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSetupWaitRename(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeserver.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	s, stdout := startWait(t, dir)
	s.expect("wrote " + path)
	s.expect("waiting for " + path + " to be filled in")
	s.expect("still to fill in: appID, clientSecret, companyUUID, companyRequestToken\n")

	// A half-filled save: what is left is named.
	saveByRename(t, path, fakeCredsJSON(t, srv, map[string]string{"clientSecret": "", "companyRequestToken": ""}))
	s.expect("still to fill in: clientSecret, companyRequestToken\n")
	// A save with a JSON mistake: where it is, and how to fix it.
	saveByRename(t, path, []byte("{\n  \"appID\": \"x\",\n}\n"))
	s.expect(path + ":3:1: invalid character '}'")
	s.expect("hint: remove the comma after the last field")

	saveByRename(t, path, fakeCredsJSON(t, srv, nil))
	s.expect(path + " is complete")
	if code := s.wait(); code != 0 {
		t.Fatalf("setup --wait exited %d; stderr:\n%s", code, s.output())
	}
	if !strings.Contains(stdout.String(), "got a new grant") || !strings.Contains(stdout.String(), "refresh --quiet") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if n := srv.Count("password"); n != 1 {
		t.Errorf("token endpoint saw %d password grants, want 1", n)
	}
	assertNoSecrets(t, s.output()+stdout.String(), fakeClientSecret, fakeRequestToken)
}

// TestSetupWaitProblemLines pins what a person editing the file reads: a
// JSON mistake and a wrong value each on a line of its own that starts with
// the file's path, as credentials words them where the file is clear.
func TestSetupWaitProblemLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	s, _ := startWait(t, dir)
	s.expect("still to fill in:")
	saveByRename(t, path, []byte("{\n  \"appID\": \"x\",\n}\n"))
	s.expect("\ntokenkeeper: " + path + ":3:1: invalid character '}' looking for beginning of object key string\n" +
		"tokenkeeper: hint: remove the comma after the last field")
	saveByRename(t, path, []byte(`{"tokenURL": "https://auth.example.com/token", "grantType": "client_credentials", "appID": 7, "clientSecret": "s"}`))
	s.expect("\ntokenkeeper: " + path + ": appID: want a string, got number (put the value in double quotes)\n")
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(); code != exitError {
		t.Fatalf("interrupted setup --wait exited %d, want %d; stderr:\n%s", code, exitError, s.output())
	}
}

func TestSetupWaitInPlace(t *testing.T) {
	t.Parallel()
	srv := newFake(t, fakeserver.Options{Style: fakeserver.StyleKeycloak})
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	// An existing, incomplete file is waited on as it is, with the preset's
	// grant type applied.
	if err := os.WriteFile(path, []byte(`{"tokenURL": "`+srv.TokenURL()+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s, stdout := startWait(t, dir, "--preset", "kore", "--token-url", srv.TokenURL())
	s.expect("still to fill in: appID, clientSecret\n")
	saveInPlace(t, path, fakeCredsJSON(t, srv, map[string]string{"grantType": "client_credentials"}))
	if code := s.wait(); code != 0 {
		t.Fatalf("setup --wait exited %d; stderr:\n%s", code, s.output())
	}
	if !strings.Contains(stdout.String(), "got a new grant") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if n := srv.Count("client_credentials"); n != 1 {
		t.Errorf("token endpoint saw %d client_credentials grants, want 1", n)
	}
}

func TestSetupWaitInterrupt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials.json")
	s, _ := startWait(t, dir)
	s.expect("still to fill in:")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(); code != exitError {
		t.Fatalf("interrupted setup --wait exited %d, want %d; stderr:\n%s", code, exitError, s.output())
	}
	s.expect("stopped waiting; " + path + " is as you left it")
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Errorf("credentials.json changed on ^C")
	}
	if _, err := os.Stat(filepath.Join(dir, "refreshTokenObjectFile.json")); err == nil {
		t.Error("a token file was written")
	}
}
