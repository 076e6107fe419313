package cli

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// testClientGoExec runs tokenkeeper as an exec credential plugin under
// client-go's exec authenticator (k8s.io/client-go/plugin/pkg/client/auth/exec,
// the code kubectl runs for a kubeconfig `exec` user), against the TLS API
// server of testKubectl. It runs on every machine, kubectl or not (Debian's
// kubectl predates the v1 ExecCredential). client-go is a test-only
// dependency: the binary does not link it.
func testClientGoExec(t *testing.T, bin string) {
	// client-go keeps the credential until its expirationTimestamp (the
	// expiry less --margin), then runs the plugin again, which renews.
	t.Run("UntilExpiration", func(t *testing.T) {
		const ttl, margin = 10 * time.Second, 5 * time.Second
		p := newProfile(t, bin, t.TempDir(), fakeserver.Options{Rotate: true, AccessTTL: ttl})
		p.mustRun("--margin", margin.String(), "refresh")
		first, _ := p.load()
		// The expirationTimestamp the plugin gives client-go for this token.
		var ec struct {
			Status struct{ ExpirationTimestamp time.Time }
		}
		out := p.mustRun("--margin", margin.String(), "token", "-o", "exec-credential").stdout
		if err := json.Unmarshal([]byte(out), &ec); err != nil || ec.Status.ExpirationTimestamp.IsZero() {
			t.Fatalf("token -o exec-credential: %v\n%s", err, out)
		}
		expires := ec.Status.ExpirationTimestamp
		api := newAPIServer(t, p)
		get, runs := clientGo(t, p, api, "--margin", margin.String())

		for i := range 2 {
			if status := get(); status != http.StatusOK || runs() != 1 {
				t.Fatalf("request %d: %d after %d plugin runs, want 200 after 1", i+1, status, runs())
			}
		}
		if !time.Now().Before(expires) {
			t.Fatalf("the second request ended after the credential's expirationTimestamp: "+
				"the test cannot tell caching apart on a machine this slow (%s token, %s margin)", ttl, margin)
		}

		// client-go runs the plugin again once now is after expirationTimestamp;
		// tokenkeeper must renew then, not hand out the same token again.
		time.Sleep(time.Until(expires) + 10*time.Millisecond)
		if status := get(); status != http.StatusOK || runs() != 2 {
			t.Fatalf("request after expirationTimestamp: %d after %d plugin runs, want 200 after 2", status, runs())
		}
		renewed, _ := p.load()
		if n := p.srv.Count("refresh_token"); n != 1 || renewed.AccessToken == first.AccessToken {
			t.Errorf("%d renewals, want 1 and a new access token", n)
		}
		want := []apiCall{{first.AccessToken, 200}, {first.AccessToken, 200}, {renewed.AccessToken, 200}}
		if got := api.log(); !slices.Equal(got, want) {
			t.Errorf("the API server was sent %d requests (statuses %v), want the first token twice and the renewed one", len(got), statuses(got))
		}
	})

	// A 401 makes client-go run the plugin again at once: the API server
	// refuses the token that tokenkeeper's file says has expired, and the
	// plugin renews it for the next request.
	t.Run("After401", func(t *testing.T) {
		p, first := newIntegrationProfile(t, bin)
		api := newAPIServer(t, p)
		get, runs := clientGo(t, p, api)

		for i := range 2 {
			if status := get(); status != http.StatusOK || runs() != 1 {
				t.Fatalf("request %d: %d after %d plugin runs, want 200 after 1", i+1, status, runs())
			}
		}
		p.expire()
		if status := get(); status != http.StatusUnauthorized || runs() != 2 {
			t.Fatalf("request with the expired token: %d after %d plugin runs, want 401 after 2", status, runs())
		}
		if status := get(); status != http.StatusOK || runs() != 2 {
			t.Fatalf("request after the 401: %d after %d plugin runs, want 200 after 2", status, runs())
		}
		renewed, _ := p.load()
		if n := p.srv.Count("refresh_token"); n != 1 || renewed.AccessToken == first.AccessToken {
			t.Errorf("%d renewals, want 1 and a new access token", n)
		}
		want := []apiCall{{first.AccessToken, 200}, {first.AccessToken, 200}, {first.AccessToken, 401}, {renewed.AccessToken, 200}}
		if got := api.log(); !slices.Equal(got, want) {
			t.Errorf("the API server was sent %d requests (statuses %v), want the first token thrice (200, 200, 401) and the renewed one", len(got), statuses(got))
		}
	})
}

// clientGo is an HTTP client made by client-go's rest.HTTPClientFor for a
// rest.Config whose user is tokenkeeper as an exec plugin (docs/integrations.md's
// kubeconfig stanza, with --dir and extra flags), and a count of the plugin's
// runs, kept by a wrapper script.
func clientGo(t *testing.T, p *profile, api *apiServer, flags ...string) (get func() int, runs func() int) {
	dir := t.TempDir()
	counter, wrapper := filepath.Join(dir, "runs"), filepath.Join(dir, "plugin")
	script := "#!/bin/sh\nprintf x >> \"$TOKENKEEPER_TEST_RUNS\"\nexec \"$TOKENKEEPER_TEST_BIN\" \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	client, err := rest.HTTPClientFor(&rest.Config{
		Host:            api.URL,
		TLSClientConfig: rest.TLSClientConfig{CAData: api.caPEM()},
		ExecProvider: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1",
			Command:    wrapper,
			Args:       append(append([]string{"--dir", p.dir}, flags...), "token", "-o", "exec-credential"),
			Env: []clientcmdapi.ExecEnvVar{
				{Name: "TOKENKEEPER_TEST_RUNS", Value: counter},
				{Name: "TOKENKEEPER_TEST_BIN", Value: p.bin},
			},
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		},
		Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	get = func() int {
		t.Helper()
		resp, err := client.Get(api.URL + "/api")
		if err != nil {
			t.Fatalf("GET /api through client-go: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	runs = func() int {
		data, _ := os.ReadFile(counter)
		return len(data)
	}
	return get, runs
}

func statuses(calls []apiCall) []int {
	s := make([]int, len(calls))
	for i, c := range calls {
		s[i] = c.status
	}
	return s
}
