// Command fakeendpoint serves tokenkeeper's fake token endpoint
// (internal/fakeserver) on a loopback port, for bench/run.sh: the token
// endpoint must live outside the processes being measured.
//
//	fakeendpoint [-ttl 1h] [-rotate] [-url-file FILE]
//
// It prints its base URL on stdout (and into -url-file), then serves until
// SIGINT or SIGTERM. GET /_counts answers the number of token requests
// received, in all and by grant type, as JSON.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenkeeper/tokenkeeper/internal/fakeserver"
)

// The client the endpoint accepts; bench/fleet writes credentials with these.
const (
	ClientID     = "bench-app-id"
	ClientSecret = "bench-client-secret"
	CompanyUUID  = "bench-company-uuid"
	RequestToken = "bench-request-token"
)

func main() {
	ttl := flag.Duration("ttl", time.Hour, "access token lifetime")
	rotate := flag.Bool("rotate", false, "single-use refresh tokens")
	urlFile := flag.String("url-file", "", "also write the base URL to this file")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakeendpoint:", err)
		os.Exit(1)
	}
	base := "http://" + ln.Addr().String()
	srv := fakeserver.NewHandler(fakeserver.Options{
		ClientID: ClientID, ClientSecret: ClientSecret,
		CompanyUUID: CompanyUUID, RequestToken: RequestToken,
		AccessTTL: *ttl, Rotate: *rotate, BaseURL: base,
	})
	mux := http.NewServeMux()
	mux.Handle("/", srv)
	mux.HandleFunc("/_counts", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]int{
			"all": srv.Count(""), "password": srv.Count("password"), "refresh_token": srv.Count("refresh_token"),
		})
	})
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(base+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "fakeendpoint:", err)
			os.Exit(1)
		}
	}
	fmt.Println(base)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
		hs.Close()
	}()
	if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "fakeendpoint:", err)
		os.Exit(1)
	}
}
