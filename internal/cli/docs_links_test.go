package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// mdLink is the target of a markdown link: [text](target).
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// docProse returns a document's lines outside fenced code blocks, where a link
// is a link.
func docProse(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var prose []string
	fenced := false
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			prose = append(prose, line)
		}
	}
	return prose
}

// headingAnchors returns the anchors GitHub makes of a document's headings:
// lower case, punctuation dropped, spaces as hyphens, "-1", "-2" … for a
// repeated one.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, line := range docProse(t, path) {
		text, ok := strings.CutPrefix(line, "#")
		if !ok {
			continue
		}
		text = strings.TrimLeft(text, "#")
		if !strings.HasPrefix(text, " ") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			anchors[a+"-"+strconv.Itoa(n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	return anchors
}

// TestDocsLinks: every relative link in the README and the guides names a
// file of the repository, and every #anchor a heading of the document it
// points into; and the README links every guide.
func TestDocsLinks(t *testing.T) {
	docs := docFiles(t)
	linked := map[string]bool{}
	for _, doc := range docs {
		for _, line := range docProse(t, doc) {
			for _, m := range mdLink.FindAllStringSubmatch(line, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				file, anchor, _ := strings.Cut(target, "#")
				path := doc
				if file != "" {
					path = filepath.Join(filepath.Dir(doc), file)
					if _, err := os.Stat(path); err != nil {
						t.Errorf("%s: link %q: no such file %s", docName(doc), target, docName(path))
						continue
					}
					if doc == readmePath {
						linked[filepath.Clean(path)] = true
					}
				}
				if anchor == "" {
					continue
				}
				if !strings.HasSuffix(path, ".md") {
					t.Errorf("%s: link %q: an anchor into a file that is not markdown", docName(doc), target)
					continue
				}
				if !headingAnchors(t, path)[anchor] {
					t.Errorf("%s: link %q: %s has no heading #%s", docName(doc), target, docName(path), anchor)
				}
			}
		}
	}
	for _, guide := range docs[1:] {
		if !linked[filepath.Clean(guide)] {
			t.Errorf("README.md does not link the guide %s", docName(guide))
		}
	}
}

// TestReadmeExitTable: the README's table of exit codes (the one a user reads;
// the guides link to it) lists exactly the codes of the exit table.
func TestReadmeExitTable(t *testing.T) {
	var got []int
	inTable := false
	for _, line := range docProse(t, readmePath) {
		if strings.HasPrefix(line, "| code |") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		if strings.HasPrefix(cell, "---") {
			continue
		}
		code, err := strconv.Atoi(cell)
		if err != nil {
			t.Errorf("README's exit table: %q is not a code", cell)
			continue
		}
		got = append(got, code)
	}
	var want []int
	for _, r := range exitTable {
		want = append(want, r.code)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("README's exit table lists the codes %v, the exit table %v", got, want)
	}
}
