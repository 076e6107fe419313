package prompt

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func newPrompter(input string) (*Prompter, *strings.Builder) {
	var out strings.Builder
	return &Prompter{In: strings.NewReader(input), Out: &out}, &out
}

func nonEmpty(a string) string {
	if a == "" {
		return "required"
	}
	return ""
}

func TestAsk(t *testing.T) {
	tests := []struct {
		name, input, current, want string
		reprompts                  int
	}{
		{"answer", "hello\n", "", "hello", 0},
		{"trimmed, CRLF", "  hello \r\n", "", "hello", 0},
		{"empty keeps current", "\n", "old", "old", 0},
		{"answer replaces current", "new\n", "old", "new", 0},
		{"empty without current re-prompts", "\n\nfinally\n", "", "finally", 2},
		{"last line without newline", "eof", "", "eof", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out := newPrompter(tt.input)
			got, err := p.Ask(context.Background(), "name", tt.current, nonEmpty)
			if err != nil || got != tt.want {
				t.Fatalf("Ask() = %q, %v; want %q", got, err, tt.want)
			}
			if n := strings.Count(out.String(), "  required\n"); n != tt.reprompts {
				t.Errorf("%d re-prompts, want %d; output:\n%s", n, tt.reprompts, out)
			}
			if tt.current != "" && !strings.Contains(out.String(), "name ["+tt.current+"]: ") {
				t.Errorf("output %q does not show the current value", out)
			}
		})
	}
}

func TestAskEOF(t *testing.T) {
	p, _ := newPrompter("\n")
	_, err := p.Ask(context.Background(), "name", "", nonEmpty)
	if !errors.Is(err, ErrNoInput) {
		t.Errorf("Ask() at EOF = %v, want ErrNoInput", err)
	}
}

func TestAskReadsNoFurtherThanOneLine(t *testing.T) {
	// The second question must find its answer: nothing buffered ahead.
	p, _ := newPrompter("one\ntwo\n")
	a, _ := p.Ask(context.Background(), "first", "", nil)
	b, _ := p.Ask(context.Background(), "second", "", nil)
	if a != "one" || b != "two" {
		t.Errorf("answers %q, %q; want one, two", a, b)
	}
}

func TestSecretNeverShown(t *testing.T) {
	p, out := newPrompter("\nSECRET-new\n")
	got, err := p.Secret(context.Background(), "client secret", "SECRET-old", nil)
	if err != nil || got != "SECRET-old" {
		t.Fatalf("Secret() = %v; want the current value kept", err)
	}
	if !strings.Contains(out.String(), "client secret [set, 10 characters; Enter keeps it]: ") {
		t.Errorf("output %q: want it to say a value is set", out)
	}
	got, _ = p.Secret(context.Background(), "client secret", "", nil)
	if got != "SECRET-new" {
		t.Errorf("second answer not read")
	}
	if strings.Contains(out.String(), "SECRET") {
		t.Errorf("output shows a secret: %q", out)
	}
}

func TestSecretCheckMessageHasNoSecret(t *testing.T) {
	p, out := newPrompter("bad SECRET\ngood\n")
	got, err := p.Secret(context.Background(), "token", "", func(a string) string {
		if strings.Contains(a, " ") {
			return "must not contain a space"
		}
		return ""
	})
	if err != nil || got != "good" {
		t.Fatalf("Secret() = %q, %v", got, err)
	}
	if !strings.Contains(out.String(), "must not contain a space") || strings.Contains(out.String(), "SECRET") {
		t.Errorf("output %q", out)
	}
}

func TestChoose(t *testing.T) {
	choices := []Choice{{"concur", "SAP Concur"}, {"generic", "any endpoint"}}
	tests := []struct{ input, def, want string }{
		{"2\n", "", "generic"},
		{"Concur\n", "", "concur"},
		{"\n", "generic", "generic"},
		{"3\nmars\n1\n", "", "concur"},
	}
	for _, tt := range tests {
		p, out := newPrompter(tt.input)
		got, err := p.Choose(context.Background(), "provider", choices, tt.def)
		if err != nil || got != tt.want {
			t.Errorf("Choose(%q) = %q, %v; want %q", tt.input, got, err, tt.want)
		}
		if !strings.Contains(out.String(), "2) generic") {
			t.Errorf("output %q does not list the choices", out)
		}
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := &Prompter{In: blockingReader{}, Out: &strings.Builder{}}
	if _, err := p.Ask(ctx, "name", "", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Ask() with a cancelled context = %v, want context.Canceled", err)
	}
}

type blockingReader struct{}

func (blockingReader) Read([]byte) (int, error) { select {} }
