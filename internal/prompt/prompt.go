// Package prompt asks questions one line at a time, on a terminal or on any
// io.Reader/io.Writer pair (which is how it is tested). Each answer is checked
// on the spot and the question asked again until the answer is acceptable.
//
// Lines are read one byte at a time, never buffered ahead: a secret question
// on a terminal turns echo off on the same file descriptor, and bytes read
// ahead by a buffer would escape that. A terminal in canonical mode hands
// over one line per read anyway, so this costs nothing.
package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/tokenkeeper/tokenkeeper/internal/editdist"

	"github.com/tokenkeeper/tokenkeeper/internal/redact"
)

// ErrNoInput is returned when the input ends before an answer was given.
var ErrNoInput = errors.New("prompt: no more input")

// Prompter asks questions on In and writes them to Out.
type Prompter struct {
	In  io.Reader
	Out io.Writer

	// TTY is the terminal behind In, for questions whose answers must not be
	// echoed; nil when In is not a terminal (answers are then read as lines).
	TTY *os.File
}

// Check returns "" for an acceptable answer, or what is wrong with it. It
// never repeats a secret answer.
type Check func(answer string) string

// Ask shows label with current (the value kept when the answer is empty, ""
// for none) and returns the trimmed answer, or current for an empty one.
func (p *Prompter) Ask(ctx context.Context, label, current string, check Check) (string, error) {
	q := label + ": "
	if current != "" {
		shown := current
		if strings.Contains(current, "://") {
			// A token URL: its query values are masked, as everywhere a URL is
			// shown; Enter still keeps the value itself.
			shown = redact.URL(current)
		}
		q = fmt.Sprintf("%s [%s]: ", label, shown)
	}
	return p.ask(ctx, q, false, current, check)
}

// Secret asks for a value that is never shown: not echoed on a terminal, and
// not in the prompt, which only says whether a value is set (Enter keeps it).
func (p *Prompter) Secret(ctx context.Context, label, current string, check Check) (string, error) {
	q := label + " (not shown as you type): "
	if current != "" {
		q = fmt.Sprintf("%s [set, %d characters; Enter keeps it]: ", label, len([]rune(current)))
	}
	return p.ask(ctx, q, true, current, check)
}

func (p *Prompter) ask(ctx context.Context, question string, secret bool, current string, check Check) (string, error) {
	for {
		line, err := p.line(ctx, question, secret)
		if err != nil {
			return "", err
		}
		answer := strings.TrimSpace(line)
		if answer == "" {
			answer = current
		}
		if msg := run(check, answer); msg != "" {
			fmt.Fprintf(p.Out, "  %s\n", msg)
			continue
		}
		return answer, nil
	}
}

// Line reads one line as it is, showing nothing: for a value piped in.
func (p *Prompter) Line(ctx context.Context) (string, error) {
	return p.line(ctx, "", false)
}

// Choose asks for one of choices, by name or by its number in the list, and
// returns the name. def is the answer to an empty line ("" for none).
func (p *Prompter) Choose(ctx context.Context, label string, choices []Choice, def string) (string, error) {
	fmt.Fprintf(p.Out, "%s:\n", label)
	for i, c := range choices {
		fmt.Fprintf(p.Out, "  %d) %-20s %s\n", i+1, c.Name, c.Help)
	}
	a, err := p.Ask(ctx, "choose", def, func(a string) string {
		if _, ok := pick(choices, a); ok {
			return ""
		}
		names := make([]string, len(choices))
		for i, c := range choices {
			names[i] = c.Name
		}
		if near := editdist.Nearest(strings.ToLower(a), names); near != "" {
			return fmt.Sprintf("%q is not one of the choices (did you mean %s?): give a number from 1 to %d or a name", a, near, len(choices))
		}
		return fmt.Sprintf("%q is not one of the choices: give a number from 1 to %d or a name", a, len(choices))
	})
	if err != nil {
		return "", err
	}
	name, _ := pick(choices, a)
	return name, nil
}

// Choice is one answer Choose offers.
type Choice struct{ Name, Help string }

// pick resolves an answer to Choose — a name (any case) or a 1-based number.
func pick(choices []Choice, a string) (string, bool) {
	for i, c := range choices {
		if strings.EqualFold(a, c.Name) || a == fmt.Sprint(i+1) {
			return c.Name, true
		}
	}
	return "", false
}

func run(check Check, answer string) string {
	if check == nil {
		return ""
	}
	return check(answer)
}

// line shows question and reads one line, with echo off on a terminal when secret. It gives up
// when ctx ends (Ctrl-C), restoring the terminal first.
func (p *Prompter) line(ctx context.Context, question string, secret bool) (string, error) {
	read := func() (string, error) { return readLine(p.In) }
	if secret && p.TTY != nil && !canNoEcho {
		defer fmt.Fprintln(p.Out)
		read = func() (string, error) {
			b, err := term.ReadPassword(int(p.TTY.Fd()))
			return string(b), err
		}
	} else if secret && p.TTY != nil {
		// Echo goes off before the question is on the screen, so that
		// nothing typed after seeing it can be echoed.
		restore, err := noEcho(p.TTY)
		if err != nil {
			return "", fmt.Errorf("prompt: turn echo off: %w", err)
		}
		defer func() {
			restore()
			fmt.Fprintln(p.Out) // the user's Enter was not echoed either
		}()
	}
	fmt.Fprint(p.Out, question)
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := read()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		return r.s, r.err
	case <-ctx.Done():
		// The reader stays blocked until the process exits: a read on a
		// terminal cannot be interrupted portably, and the wizard ends here.
		return "", ctx.Err()
	}
}

// readLine reads up to a newline, one byte at a time (see the package doc).
func readLine(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() > 0 {
				return b.String(), nil
			}
			return "", ErrNoInput
		}
		if err != nil {
			return "", fmt.Errorf("prompt: read: %w", err)
		}
	}
}
