package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// fixtures is the shared directory of credentials.json fixtures.
const fixtures = "../testdata/credentials"

// specTemplate is the template the first run writes, byte for byte: the
// tutorial's fields in its order (docs/contract.md §1).
const specTemplate = `{
  "tokenURL": "https://us.api.concursolutions.com/oauth2/v0/token",
  "grantType": "password",
  "appID": "",
  "clientSecret": "",
  "companyUUID": "",
  "companyRequestToken": "",
  "credentialType": "authtoken",
  "scope": "",
  "refreshToken": "",
  "authStyle": "params"
}
`

func TestTemplate(t *testing.T) {
	if got := string(Template()); got != specTemplate {
		t.Errorf("Template() =\n%s\nwant\n%s", got, specTemplate)
	}
	// The template parses, and is incomplete in exactly the four fields a
	// tutorial user must fill in.
	c, err := Parse("t.json", Template())
	if err != nil {
		t.Fatalf("Parse(Template()): %v", err)
	}
	want := []string{"appID", "clientSecret", "companyUUID", "companyRequestToken"}
	if got := c.Missing(); !slices.Equal(got, want) {
		t.Errorf("Missing() = %q, want %q", got, want)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("Warnings = %q, want none", c.Warnings)
	}
}

func TestWriteTemplateCreates(t *testing.T) {
	root := tempDir(t)
	path := filepath.Join(root, "config", "tokenkeeper", "default", FileName)
	created, err := WriteTemplate(path)
	if err != nil || !created {
		t.Fatalf("WriteTemplate() = %v, %v; want true, nil", created, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != specTemplate {
		t.Errorf("file =\n%s\nwant the template", data)
	}
	assertMode(t, path, 0o600)
	for _, dir := range []string{"config", "config/tokenkeeper", "config/tokenkeeper/default"} {
		assertMode(t, filepath.Join(root, dir), 0o700)
	}
}

func TestWriteTemplateNeverOverwrites(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"filled in", readFixture(t, "template-filled.json")},
		{"not JSON", readFixture(t, "not-json.json")},
		{"empty", ""},
		{"truncated", `{"appID": "0a1b`},
		{"tutorial", readFixture(t, "tutorial.json")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(tempDir(t), FileName)
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			created, err := WriteTemplate(path)
			if err != nil || created {
				t.Errorf("WriteTemplate() = %v, %v; want false, nil", created, err)
			}
			data, _ := os.ReadFile(path)
			if string(data) != tt.content {
				t.Errorf("file changed: got %q, want %q", data, tt.content)
			}
		})
	}
}

func TestWriteTemplateRace(t *testing.T) {
	path := filepath.Join(tempDir(t), "d", FileName)
	const n = 20
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = WriteTemplate(path) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("WriteTemplate #%d: %v", i, errs[i])
		}
		if results[i] {
			created++
		}
	}
	if created != 1 {
		t.Errorf("created by %d callers, want exactly 1", created)
	}
}

func TestWriteTemplateError(t *testing.T) {
	// A regular file where the directory should be: the error names the path.
	root := tempDir(t)
	blocker := filepath.Join(root, "notadir")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := WriteTemplate(filepath.Join(blocker, FileName))
	if err == nil {
		t.Fatal("WriteTemplate under a file: got nil error")
	}
	if !strings.HasPrefix(err.Error(), "credentials: ") || !strings.Contains(err.Error(), blocker) {
		t.Errorf("error %q: want the credentials: prefix and the path %s", err, blocker)
	}
}

func TestLoadNotExist(t *testing.T) {
	path := filepath.Join(tempDir(t), "nope", FileName)
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "credentials: ") {
		t.Errorf("error %q: want the credentials: prefix and the path", err)
	}
}

func TestLoadRelativePathIsResolved(t *testing.T) {
	dir := tempDir(t)
	content := readFixture(t, "keycloak.json")
	t.Chdir(dir)
	if err := os.WriteFile(FileName, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(FileName)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, FileName)
	if c.Path != want {
		t.Errorf("Path = %q, want %q", c.Path, want)
	}
	os.WriteFile(FileName, nil, 0o600)
	_, err = Load(FileName)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Load(empty) error = %v, want it to name %s", err, want)
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	big := append([]byte(`{"scope":"`), bytes.Repeat([]byte("a"), storage.MaxFileSize)...)
	big = append(big, `"}`...)
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "larger than") || !strings.Contains(err.Error(), path) {
		t.Errorf("Load(2 MiB) error = %v, want a size error naming the path", err)
	}
}

func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, c *Credentials)
	}{
		{"template-filled.json", func(t *testing.T, c *Credentials) {
			wantField(t, "TokenURL", c.TokenURL, "https://emea.api.concursolutions.com/oauth2/v0/token")
			wantField(t, "CredentialType", c.CredentialType, "authtoken")
		}},
		{"tutorial-filled.json", func(t *testing.T, c *Credentials) {
			wantField(t, "TokenURL", c.TokenURL, DefaultTokenURL)
			wantField(t, "AuthStyle", c.AuthStyle, AuthParams)
		}},
		{"keycloak.json", func(t *testing.T, c *Credentials) {
			wantField(t, "GrantType", c.GrantType, GrantClientCredentials)
			wantField(t, "AuthStyle", c.AuthStyle, AuthHeader)
			wantField(t, "Scope", c.Scope, "openid offline_access")
		}},
		{"refresh-token.json", func(t *testing.T, c *Credentials) {
			wantField(t, "ClientSecret", c.ClientSecret, "")
			wantField(t, "RefreshToken", c.RefreshToken, "SECRET-rt-bak")
		}},
		{"synonyms.json", func(t *testing.T, c *Credentials) {
			wantField(t, "AppID", c.AppID, "0a1b2c3d-app")
			wantField(t, "CompanyUUID", c.CompanyUUID, "5f6e7d8c-company")
			wantField(t, "CompanyRequestToken", c.CompanyRequestToken, "SECRET-crt-syn")
		}},
		{"loopback.json", func(t *testing.T, c *Credentials) {
			wantField(t, "TokenURL", c.TokenURL, "http://127.0.0.1:8080/oauth2/v0/token")
		}},
		{"bom.json", func(t *testing.T, c *Credentials) {
			wantField(t, "AppID", c.AppID, "0a1b2c3d-app")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path, _ := filepath.Abs(filepath.Join(fixtures, tt.file))
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Path != path {
				t.Errorf("Path = %q, want %q", c.Path, path)
			}
			tt.check(t, c)
		})
	}
}

// TestLoadTutorialFile: the tutorial's own first-run file (not indented, no
// tokenURL) loads as incomplete, naming exactly its four empty fields.
func TestLoadTutorialFile(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	tutorial := `{"appID":"","clientSecret":"","grantType":"password","companyUUID":"","companyRequestToken":"","credentialType":"authtoken"}`
	if err := os.WriteFile(path, []byte(tutorial), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("Load = %v, want ErrIncomplete", err)
	}
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Load error %T, want *InvalidError", err)
	}
	want := []string{"appID", "clientSecret", "companyUUID", "companyRequestToken"}
	if got := problemFields(inv); !slices.Equal(got, want) {
		t.Errorf("problem fields = %q, want %q", got, want)
	}
	if inv.Path != path {
		t.Errorf("Path = %q, want %q", inv.Path, path)
	}
	first := strings.SplitN(err.Error(), "\n", 2)[0]
	if wantFirst := "credentials: " + path + ": 4 problems"; first != wantFirst {
		t.Errorf("first line = %q, want %q", first, wantFirst)
	}
	// Parse alone accepts it, for the wizard and setup --wait.
	c, err := Parse(path, []byte(tutorial))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Missing(); !slices.Equal(got, want) {
		t.Errorf("Missing() = %q, want %q", got, want)
	}
	wantField(t, "CredentialType", c.CredentialType, "authtoken")
	wantField(t, "TokenURL", c.TokenURL, DefaultTokenURL)
}

func TestSave(t *testing.T) {
	path := filepath.Join(tempDir(t), "new", "dir", FileName)
	c := &Credentials{
		TokenURL: "https://auth.example.com/token?tenant=a&x=b", GrantType: GrantClientCredentials,
		AppID: "app", ClientSecret: "SECRET-save", GitUsername: "x-access-token",
	}
	if err := c.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	assertMode(t, path, 0o600)
	assertMode(t, filepath.Dir(path), 0o700)
	if c.Path != path {
		t.Errorf("Path = %q, want %q", c.Path, path)
	}
	data, _ := os.ReadFile(path)
	if !bytes.HasSuffix(data, []byte("}\n")) || !bytes.Contains(data, []byte("\n  \"tokenURL\"")) {
		t.Errorf("file is not indented with a trailing newline:\n%s", data)
	}
	if !bytes.Contains(data, []byte("tenant=a&x=b")) {
		t.Errorf("file escapes the URL's &:\n%s", data)
	}
	assertKeyOrder(t, data)
	got, err := Load(path)
	if err != nil {
		t.Fatalf("Load after Save: %v", err)
	}
	c.AuthStyle = AuthParams // default applied on load
	if got.TokenURL != c.TokenURL || got.ClientSecret != c.ClientSecret || got.AuthStyle != c.AuthStyle || got.GitUsername != c.GitUsername {
		t.Errorf("round trip: got %v, want %v", got, c)
	}
}

// TestSaveTightensMode: a credentials file holds secrets, so Save writes 0600
// even over a file someone made world-readable.
func TestSaveTightensMode(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if err := (&Credentials{AppID: "a"}).Save(path); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after Save, want 1 (no temporary left)", len(entries))
	}
}

func TestSaveFollowsSymlink(t *testing.T) {
	skipOnWindows(t, "symbolic links")
	dir := tempDir(t)
	target := filepath.Join(dir, "dotfiles", "tk.json")
	os.MkdirAll(filepath.Dir(target), 0o700)
	os.WriteFile(target, Template(), 0o600)
	link := filepath.Join(dir, FileName)
	if err := os.Symlink(target, link); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := (&Credentials{AppID: "linked"}).Save(link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link replaced by a regular file")
	}
	c, err := Parse(target, mustRead(t, target))
	if err != nil || c.AppID != "linked" {
		t.Errorf("target after Save: %v, %v; want appID linked", c, err)
	}
}

func TestSaveErrors(t *testing.T) {
	if err := (&Credentials{}).Save(""); err == nil {
		t.Error("Save with no path: got nil error")
	}
	dir := tempDir(t)
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o600)
	path := filepath.Join(blocker, FileName)
	err := (&Credentials{ClientSecret: "SECRET-x"}).Save(path)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Errorf("Save under a file: %v, want an error naming %s", err, blocker)
	}
}

func TestSaveUsesPath(t *testing.T) {
	path := filepath.Join(tempDir(t), FileName)
	os.WriteFile(path, Template(), 0o600)
	c, err := Parse(path, Template())
	if err != nil {
		t.Fatal(err)
	}
	c.AppID = "filled"
	if err := c.Save(""); err != nil {
		t.Fatal(err)
	}
	got, _ := Parse(path, mustRead(t, path))
	if got.AppID != "filled" {
		t.Errorf("appID = %q after Save(\"\"), want filled", got.AppID)
	}
}

func TestRedacted(t *testing.T) {
	c := &Credentials{AppID: "app", ClientSecret: "SECRET-r1", CompanyRequestToken: "", RefreshToken: "SECRET-ü"}
	r := c.Redacted()
	want := map[string]string{
		"appID":               "app",
		"clientSecret":        "set (9 chars)",
		"companyRequestToken": "not set",
		"refreshToken":        "set (8 chars)",
	}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("Redacted()[%q] = %q, want %q", k, r[k], v)
		}
	}
	urls := map[string]string{
		"https://me:pw@auth.example.com/t?client_secret=x#f": "https://[redacted]@auth.example.com/t?client_secret=[redacted]#[redacted]",
		"https://auth.example.com/t":                         "https://auth.example.com/t",
		"https://auth.example.com/t?":                        "https://auth.example.com/t?",
		"://bad":                                             "(not a URL, 6 characters)",
	}
	for in, want := range urls {
		if got := (&Credentials{TokenURL: in}).Redacted()["tokenURL"]; got != want {
			t.Errorf("Redacted() tokenURL for %q = %q, want %q", in, got, want)
		}
	}
	if len(r) != len(fieldNames) {
		t.Errorf("Redacted() has %d fields, want %d", len(r), len(fieldNames))
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); modeBitsTell && got != want {
		t.Errorf("mode of %s = %#o, want %#o", path, got, want)
	}
}

// assertKeyOrder checks that data holds the ten fields in template order.
func assertKeyOrder(t *testing.T, data []byte) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token()
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var v json.RawMessage
		dec.Decode(&v)
	}
	// The optional fields (gitUsername, the login fields of docs/contract.md §7) are written
	// only when set; TestSave sets gitUsername.
	if want := append(slices.Clone(fieldNames[:10]), "gitUsername"); !slices.Equal(keys, want) {
		t.Errorf("keys = %q, want %q", keys, want)
	}
}

func readFixture(t *testing.T, name string) string {
	t.Helper()
	return string(mustRead(t, filepath.Join(fixtures, name)))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantField(t *testing.T, name, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", name, got, want)
	}
}

func problemFields(e *InvalidError) []string {
	var out []string
	for _, p := range e.Problems {
		out = append(out, p.Field)
	}
	return out
}
