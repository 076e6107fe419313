package credentials

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tokenkeeper/tokenkeeper/storage"
)

// ErrIncomplete is matched (with errors.Is) by an *InvalidError when at
// least one of its problems is a required field that is not set. Callers use
// it to tell "fill in the template" from "fix a wrong value".
var ErrIncomplete = errors.New("credentials: incomplete")

// ErrEmpty is matched (with errors.Is) by the *SyntaxError returned for a
// file that is empty or holds only white space — typically one truncated by
// an editor or created with touch.
var ErrEmpty = errors.New("credentials: file is empty")

// SyntaxError reports a file that is not a JSON object. Line and Col
// (1-based, Col counted in characters) locate the fault; both are 0 when the
// fault has no position (an empty file).
type SyntaxError struct {
	Path      string // absolute path of the file, "" when parsing bytes of no file
	Line, Col int
	Msg       string // encoding/json's message, or ours for a non-object
	// Hint says how to fix a common mistake (trailing comma, single quotes);
	// it is not part of Error() so that a CLI can print it on its own line.
	Hint string
}

func (e *SyntaxError) Error() string { return "credentials: " + e.Detail() }

// Detail is Error without the package's name: "PATH:LINE:COL: message".
func (e *SyntaxError) Detail() string {
	loc := e.Path
	if e.Line > 0 {
		loc += fmt.Sprintf(":%d:%d", e.Line, e.Col)
	}
	loc = strings.TrimPrefix(loc, ":")
	if loc == "" {
		return e.Msg
	}
	return loc + ": " + e.Msg
}

// Is makes errors.Is(err, ErrEmpty) true for the empty-file error.
func (e *SyntaxError) Is(target error) bool {
	return target == ErrEmpty && e.Line == 0 && e.Msg == msgEmpty
}

const msgEmpty = "file is empty"

// Problem is one thing wrong with one field. Field is the name as written in
// the file (a synonym such as "clientID" when that is what the file holds).
// Msg never contains a secret value.
type Problem struct {
	Field string
	Msg   string

	missing bool // a required field that is not set: drives ErrIncomplete
}

func (p Problem) String() string { return p.Field + ": " + p.Msg }

// About reports whether the problem is about the field of that canonical
// name, however the problem calls it (a synonym, or Credentials.Word).
func (p Problem) About(name string) bool { return canonical(p.Field) == name }

// InvalidError lists every problem found in a credentials file at once, so
// that a user fixes them in one edit rather than one per run.
type InvalidError struct {
	Path     string // absolute path of the file, "" when not loaded from one
	Problems []Problem
}

// Error is a single line for one problem and, for more, a count on the first
// line followed by one indented "field: message" line per problem.
func (e *InvalidError) Error() string { return "credentials: " + e.Detail() }

// Detail is Error without the package's name: the path, then the problems.
func (e *InvalidError) Detail() string {
	prefix := ""
	if e.Path != "" {
		prefix = e.Path + ": "
	}
	switch len(e.Problems) {
	case 0:
		return prefix + "invalid"
	case 1:
		return prefix + e.Problems[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s%d problems", prefix, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  " + p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrIncomplete) true when a required field is
// missing.
func (e *InvalidError) Is(target error) bool {
	if target != ErrIncomplete {
		return false
	}
	for _, p := range e.Problems {
		if p.missing {
			return true
		}
	}
	return false
}

// FileError is a credentials file that cannot be read: missing (errors.Is
// fs.ErrNotExist), not a file, unreadable, or too large to be one.
type FileError struct {
	Path string
	Err  error // a *fs.PathError names the path itself
}

func (e *FileError) Error() string {
	var re *storage.RecordError
	if errors.As(e.Err, &re) { // not storage's words: this is credentials.json
		return "credentials: " + re.Name + ": " + re.Msg
	}
	return "credentials: " + e.Err.Error()
}
func (e *FileError) Unwrap() error { return e.Err }
