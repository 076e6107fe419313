package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// redactHandler passes every log record through the app's redaction before it is
// written: -v and --log-format json output comes from the library packages too,
// which do not know which strings are secrets; the app does.
type redactHandler struct {
	inner  slog.Handler
	redact func(string) string
}

func (h redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.redact(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

func (h redactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = h.attr(a)
	}
	return redactHandler{h.inner.WithAttrs(clean), h.redact}
}

func (h redactHandler) WithGroup(name string) slog.Handler {
	return redactHandler{h.inner.WithGroup(name), h.redact}
}

// attr redacts strings, and anything that prints as one (errors, URLs, values
// of unknown types), recursively through groups.
func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.redact(v.String()))
	case slog.KindAny:
		return slog.String(a.Key, h.redact(fmt.Sprint(v.Any())))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = h.attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// lineHandler writes log records (-v, and the library's warnings) the way
// every other message is written: "tokenkeeper: [profile: ][warning: ]msg"
// then key=value pairs, one line per record, no time or level columns.
type lineHandler struct {
	w       io.Writer
	level   slog.Level
	profile string
	attrs   []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("tokenkeeper: ")
	profile := h.profile
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "profile" {
			profile = a.Value.String()
		} else {
			attrs = append(attrs, a)
		}
		return true
	})
	if profile != "" {
		b.WriteString(profile + ": ")
	}
	switch {
	case r.Level >= slog.LevelError:
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	}
	b.WriteString(strings.ReplaceAll(r.Message, "\n", " "))
	for _, a := range append(slices.Clip(h.attrs), attrs...) {
		writeAttr(&b, "", a)
	}
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String()) // one write: lines from several goroutines do not mix
	return err
}

func writeAttr(b *strings.Builder, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			writeAttr(b, prefix+a.Key+".", g)
		}
		return
	}
	s := v.String()
	if v.Kind() == slog.KindDuration {
		s = v.Duration().Round(time.Millisecond).String()
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		s = strconv.Quote(s)
	}
	fmt.Fprintf(b, " %s%s=%s", prefix, a.Key, s)
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = slices.Clip(c.attrs)
	for _, a := range attrs {
		if a.Key == "profile" {
			c.profile = a.Value.String()
			continue
		}
		c.attrs = append(c.attrs, a)
	}
	return &c
}

// WithGroup is not used by tokenkeeper; attributes stay flat.
func (h *lineHandler) WithGroup(string) slog.Handler { return h }
