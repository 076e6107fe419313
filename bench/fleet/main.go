//go:build unix

// Command fleet prepares and measures the many-profile benchmarks of
// bench/run.sh.
//
//	fleet make -root DIR -n N -url TOKEN_URL
//	    write DIR/config/pNNNNN/credentials.json for N profiles that the bench
//	    token endpoint (bench/fakeendpoint) accepts
//	fleet counts -url BASE_URL
//	    print the number of token requests bench/fakeendpoint has received
//	fleet writefloor -root DIR -n N -concurrency C
//	    the floor of `refresh --all`: only the atomic writes, for N files in N
//	    directories under DIR, C at a time: a temporary file beside the target,
//	    written, fsynced and renamed over it (renameio), then the directory
//	    fsynced, as tokenkeeper saves a token file
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: fleet make|writefloor [flags]"))
	}
	fs := flag.NewFlagSet("fleet "+os.Args[1], flag.ExitOnError)
	root := fs.String("root", "", "directory")
	n := fs.Int("n", 1000, "number of profiles")
	url := fs.String("url", "", "token URL")
	conc := fs.Int("concurrency", 8, "writes at once")
	fs.Parse(os.Args[2:])
	if *root == "" && os.Args[1] != "counts" {
		fail(fmt.Errorf("-root is required"))
	}
	switch os.Args[1] {
	case "counts":
		fail(printCounts(*url))
	case "make":
		fail(makeFleet(*root, *n, *url))
	case "writefloor":
		start := time.Now()
		fail(writeFloor(*root, *n, *conc))
		d := time.Since(start)
		fmt.Printf("%d files in %s: %.0f files/s\n", *n, d.Round(time.Millisecond), float64(*n)/d.Seconds())
	default:
		fail(fmt.Errorf("unknown subcommand %q", os.Args[1]))
	}
}

func printCounts(base string) error {
	resp, err := http.Get(base + "/_counts")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var c map[string]int
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		return err
	}
	fmt.Println(c["all"])
	return nil
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

// Name is the name of profile i, sorted as numbers are.
func Name(i int) string { return fmt.Sprintf("p%05d", i) }

func makeFleet(root string, n int, url string) error {
	creds, err := json.MarshalIndent(map[string]string{
		"tokenURL": url, "grantType": "password",
		"appID": "bench-app-id", "clientSecret": "bench-client-secret",
		"companyUUID": "bench-company-uuid", "companyRequestToken": "bench-request-token",
		"credentialType": "authtoken", "authStyle": "params",
	}, "", "  ")
	if err != nil {
		return err
	}
	for i := range n {
		dir := filepath.Join(root, "config", Name(i))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "credentials.json"), creds, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// payload is the size of a Concur token file as tokenkeeper writes it.
var payload = bytes.Repeat([]byte("x"), 900)

func writeFloor(root string, n, conc int) error {
	jobs := make(chan int)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := writeOne(filepath.Join(root, "floor", Name(i), "refreshTokenObjectFile.json")); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	return <-errs
}

func writeOne(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := renameio.WriteFile(path, payload, 0o600, renameio.WithTempDir(dir)); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
