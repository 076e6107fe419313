package cli

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra/doc"
)

//go:generate go test -run TestManPages -update-man .

var updateMan = flag.Bool("update-man", false, "rewrite docs/man from the command table")

const manDir = "../../docs/man"

// TestManPages checks that the man pages in docs/man are those the command
// table makes (cobra/doc, which stays out of the binary): a command, a flag or
// a help text changed without go generate fails here.
func TestManPages(t *testing.T) {
	a := &app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	root := a.newRoot(nil)
	date := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) // fixed: the pages must not change by the day
	header := &doc.GenManHeader{Title: "TOKENKEEPER", Section: "1", Source: "tokenkeeper", Manual: "tokenkeeper manual", Date: &date}
	dir := t.TempDir()
	if err := doc.GenManTree(root, header, dir); err != nil {
		t.Fatal(err)
	}
	made, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil || len(made) == 0 {
		t.Fatalf("no pages made: %v", err)
	}
	if *updateMan {
		if err := os.RemoveAll(manDir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(manDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range made {
		want, _ := os.ReadFile(p)
		committed := filepath.Join(manDir, filepath.Base(p))
		if *updateMan {
			if err := os.WriteFile(committed, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(committed)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not what the command table makes (err %v); run go generate ./internal/cli", committed, err)
		}
	}
	if committed, _ := filepath.Glob(filepath.Join(manDir, "*.1")); len(committed) != len(made) {
		t.Errorf("docs/man holds %d pages, the command table makes %d; run go generate ./internal/cli", len(committed), len(made))
	}
}
