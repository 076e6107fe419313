// Command httpfloor is bench/floor with an HTTPS client linked in: it does what
// floor does (read the token file, parse it, print access_token), and holds an
// http.Get that the benchmark never reaches. It is the least a Go program pays
// at start-up once it can renew a token over HTTPS (net/http, crypto/tls,
// crypto/x509 and their package inits), against which tokenkeeper's own share
// can be read. bench/run.sh times it next to floor.
//
//	httpfloor FILE
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
)

func main() {
	if len(os.Args) == 3 { // never in the benchmark: it links the client
		if resp, err := http.Get(os.Args[2]); err == nil {
			resp.Body.Close()
		}
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: httpfloor FILE")
		os.Exit(2)
	}
	data, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "httpfloor:", err)
		os.Exit(1)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &t); err != nil {
		fmt.Fprintln(os.Stderr, "httpfloor:", err)
		os.Exit(1)
	}
	fmt.Println(t.AccessToken)
}
