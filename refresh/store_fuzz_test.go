package refresh

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// FuzzTokenFileFromDisk: a token file as tokenkeeper reads it from disk — through
// the file store's reader (capped, regular files only) and then ParseFile — with
// or without a UTF-8 BOM, and grown to any size up to twice the cap (sparse): no
// input panics, no read returns more than the cap, a BOM changes nothing, and a
// token that parses survives a rewrite.
func FuzzTokenFileFromDisk(f *testing.F) {
	seedFiles(f, "tokenfiles", func(_ string, data []byte) {
		f.Add(data, false, uint32(0))
		f.Add(data, true, uint32(0))
	})
	f.Add([]byte(`{"access_token":"a","expires_in":"NaN","refresh_token":"r"}`), true, uint32(0))
	f.Add([]byte(`{"access_token":"`), false, uint32(storage.MaxFileSize+7))
	f.Add([]byte("\uFEFF\uFEFF{}"), false, uint32(0))
	f.Add([]byte(`{"seed_fingerprint":"0123456789abcdef"}`), true, uint32(1))
	// A file that parses and fits the cap only without the BOM added to it.
	f.Add([]byte(`{"access_token":"a","x":"`+strings.Repeat("x", storage.MaxFileSize-29)+`"}`), true, uint32(0))
	// One file per fuzzing process, rewritten for each input: a directory per
	// input would cost more than the test.
	p, err := storage.Resolve(storage.Options{Dir: tempDir(f)}, nil)
	if err != nil {
		f.Fatal(err)
	}
	store := storage.OpenFileStore(p, nil)
	f.Fuzz(func(t *testing.T, data []byte, bom bool, grow uint32) {
		content := data
		if bom {
			content = append([]byte("\uFEFF"), data...)
		}
		if err := os.WriteFile(p.TokenFile, content, 0o600); err != nil {
			t.Fatal(err)
		}
		size := len(content)
		if grow > 0 {
			size += int(grow % (2 * storage.MaxFileSize))
			if err := os.Truncate(p.TokenFile, int64(size)); err != nil {
				t.Fatal(err)
			}
		}
		read, err := store.Read(context.Background())
		if err != nil {
			t.Fatalf("Read of a regular file of %d bytes: %v", size, err)
		}
		if want := min(size, storage.MaxFileSize); len(read) != want {
			t.Fatalf("read %d bytes of a %d-byte file, want %d", len(read), size, want)
		}
		tok, err := ParseFile(read)
		// One BOM is skipped, as editors write one; a second is an error, so the
		// oracle holds only for data that does not start with one already, and
		// that the BOM does not push over the cap (then the read is cut).
		if grow == 0 && len(content) <= storage.MaxFileSize && !bytes.HasPrefix(data, []byte("\uFEFF")) {
			_, perr := ParseFile(data)
			if bom && (err == nil) != (perr == nil) {
				t.Fatalf("a BOM changed the outcome: %v with it, %v without", err, perr)
			}
		}
		if err != nil {
			return
		}
		checkFileRoundTrip(t, tok)
	})
}
