package refresh_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tokenkeeper/tokenkeeper/credentials"
	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
	"github.com/tokenkeeper/tokenkeeper/refresh"
	"github.com/tokenkeeper/tokenkeeper/storage"
)

// exampleManager starts a fake token endpoint and returns a Manager for a
// profile kept in a temporary directory, and a function that cleans up. A real
// program would use storage.Resolve with the profile's name and credentials.Load.
func exampleManager(ttl time.Duration) (*refresh.Manager, *fakeserver.Server, func()) {
	srv := fakeserver.New(fakeserver.Options{
		ClientID: "app", ClientSecret: "secret", CompanyUUID: "company", RequestToken: "request-token",
		AccessTTL: ttl, Rotate: true,
	})
	dir, err := os.MkdirTemp("", "tokenkeeper-example-")
	if err != nil {
		log.Fatal(err)
	}
	paths, err := storage.Resolve(storage.Options{Dir: dir}, nil)
	if err != nil {
		log.Fatal(err)
	}
	m := &refresh.Manager{
		Paths:  paths,
		Client: &refresh.Client{},
		Creds: &credentials.Credentials{
			TokenURL: srv.TokenURL(), GrantType: credentials.GrantPassword,
			AppID: "app", ClientSecret: "secret", AuthStyle: credentials.AuthParams,
			CompanyUUID: "company", CompanyRequestToken: "request-token", CredentialType: "authtoken",
		},
	}
	return m, srv, func() { srv.Close(); os.RemoveAll(dir) }
}

// An *http.Client that sends the token and, when the API refuses it, renews it
// once and retries the request.
func ExampleManager_HTTPClient() {
	m, srv, cleanup := exampleManager(time.Hour)
	defer cleanup()

	client := m.HTTPClient()
	resp, err := client.Get(srv.APIURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)

	srv.RevokeAccessTokens() // the API now answers 401 to the stored token
	resp, err = client.Get(srv.APIURL())
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "after", srv.Count("refresh_token"), "renewal")
	// Output:
	// 200 OK
	// 200 OK after 1 renewal
}

// An oauth2.TokenSource for libraries that take one. The refresh token stays in
// the file.
func ExampleManager_TokenSource() {
	m, _, cleanup := exampleManager(time.Hour)
	defer cleanup()

	tok, err := m.TokenSource().Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Type(), tok.Valid(), tok.RefreshToken == "")
	// Output: Bearer true true
}

// Many goroutines asking at once share one request.
func ExampleManager_Token() {
	m, srv, cleanup := exampleManager(time.Hour)
	defer cleanup()

	done := make(chan string)
	for range 10 {
		go func() {
			tok, err := m.Token(context.Background())
			if err != nil {
				log.Fatal(err)
			}
			done <- tok.AccessToken
		}()
	}
	first := <-done
	same := 1
	for range 9 {
		if <-done == first {
			same++
		}
	}
	fmt.Println(same, "callers got the same token from", srv.Count(""), "request")
	// Output: 10 callers got the same token from 1 request
}

// A Watcher keeps the token file fresh in the background: here, 2-second tokens
// renewed shortly before they expire, until the context ends.
func ExampleWatcher() {
	m, _, cleanup := exampleManager(2 * time.Second)
	defer cleanup()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan refresh.WatchEvent, 16)
	w := &refresh.Watcher{Manager: m, Notify: func(ev refresh.WatchEvent) { events <- ev }}
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()

	for renewals := 0; renewals < 3; {
		ev := <-events
		if ev.Err != nil {
			log.Fatal(ev.Err)
		}
		if ev.Changed { // a new token: not our own save seen on disk
			fmt.Printf("%s: %s, valid: %v\n", ev.Cause, ev.Result.Action, ev.Result.Token.Valid(time.Now(), 0))
			renewals++
		}
	}
	cancel()
	fmt.Println("stopped:", <-done)
	// Output:
	// start: bootstrapped, valid: true
	// timer: refreshed, valid: true
	// timer: refreshed, valid: true
	// stopped: <nil>
}
