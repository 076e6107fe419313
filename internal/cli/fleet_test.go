package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestMergeSorted(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b []string
		want []string
	}{
		{"both empty", nil, nil, []string{}},
		{"one side", []string{"a", "b"}, nil, []string{"a", "b"}},
		{"other side", nil, []string{"a"}, []string{"a"}},
		{"overlap", []string{"a", "c", "d"}, []string{"b", "c", "e"}, []string{"a", "b", "c", "d", "e"}},
		{"same", []string{"x"}, []string{"x"}, []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mergeSorted(tc.a, tc.b); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWorse(t *testing.T) {
	order := []int{exitOK, exitTemp, exitError, exitNeedsHuman, exitConfig}
	for i, a := range order {
		for j, b := range order {
			want := order[max(i, j)]
			if got := worse(a, b); got != want {
				t.Errorf("worse(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}

// TestMapOrdered checks that results come out in input order however the
// workers finish, and that no more than 2n results wait at once.
func TestMapOrdered(t *testing.T) {
	names := make([]string, 200)
	for i := range names {
		names[i] = fmt.Sprintf("p%03d", i)
	}
	var running, peak atomic.Int64
	var got []string
	mapOrdered(context.Background(), names, 4, func(name string) string {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if name[len(name)-1] == '0' {
			time.Sleep(time.Millisecond) // finish out of order
		}
		running.Add(-1)
		return strings.ToUpper(name)
	}, func(name, v string) {
		if v != strings.ToUpper(name) {
			t.Errorf("emit(%s, %s): mismatched", name, v)
		}
		got = append(got, name)
	})
	if !slices.Equal(got, names) {
		t.Errorf("emitted out of order or incompletely: %d of %d", len(got), len(names))
	}
	if p := peak.Load(); p > 4 {
		t.Errorf("%d ran at once, want at most 4", p)
	}
}

func TestForEachStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	names := make([]string, 100)
	var done atomic.Int64
	started := forEach(ctx, names, 2, func(string) {
		if done.Add(1) == 5 {
			cancel()
		}
	})
	if started >= len(names) || int64(started) != done.Load() {
		t.Errorf("started %d, done %d, of %d: want fewer started, all of them done", started, done.Load(), len(names))
	}
}

func TestPrefixLines(t *testing.T) {
	in := "tokenkeeper: refresh: failed\ntokenkeeper: hint: do this\ntokenkeeper: warning: soon\n"
	want := "tokenkeeper: acme: refresh: failed\ntokenkeeper: hint: do this\ntokenkeeper: acme: warning: soon\n"
	if got := prefixLines([]byte(in), "acme"); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestProgress checks that the bar is drawn on a terminal and not on a pipe.
func TestProgress(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(ptmx)
		out <- string(b)
	}()
	a := &app{stderr: tty, g: globals{logFormat: "text"}}
	p := newProgress(a, 3)
	p.step("1 renewed")
	p.print("tokenkeeper: acme: failed\n")
	p.step("1 renewed, 1 failed")
	p.step("2 renewed, 1 failed")
	p.finish()
	tty.Close()
	got := <-out
	for _, want := range []string{"] 1/3  1 renewed", "tokenkeeper: acme: failed", "[==============================] 3/3  2 renewed, 1 failed", "\r\x1b[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("terminal output %q lacks %q", got, want)
		}
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a.stderr = w
	p = newProgress(a, 2)
	p.step("x")
	p.print("line\n")
	p.step("y")
	p.finish()
	w.Close()
	b, _ := io.ReadAll(r)
	if !bytes.Equal(b, []byte("line\n")) {
		t.Errorf("pipe output %q, want only the printed line", b)
	}
}
