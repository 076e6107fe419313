package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws a one-line bar on stderr while a fleet is worked on, when
// stderr is a terminal; otherwise (cron, a pipe, a log file) it draws nothing.
// Lines printed through it (failures, warnings) clear the bar first.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	start time.Time

	mu    sync.Mutex
	done  int
	note  string // counters, e.g. "12 renewed, 3 failed"
	drawn time.Time
}

func newProgress(a *app, total int) *progress {
	p := &progress{w: a.stderr, total: total, start: time.Now()}
	if f, ok := a.stderr.(*os.File); ok && a.g.logFormat == "text" {
		p.tty = term.IsTerminal(int(f.Fd()))
	}
	return p
}

// step records one finished profile, with the counters to show.
func (p *progress) step(note string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.note = note
	// Redraw at most 20 times a second: drawing is a write(2) to the terminal.
	if p.tty && (p.done == p.total || time.Since(p.drawn) >= 50*time.Millisecond) {
		p.draw()
	}
}

// print writes whole lines above the bar.
func (p *progress) print(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	io.WriteString(p.w, text)
	if p.tty && p.done > 0 && p.done < p.total {
		p.draw()
	}
}

// finish removes the bar, leaving the terminal as it was.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.done > 0 {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func (p *progress) draw() {
	const width = 30
	filled := width
	if p.total > 0 {
		filled = p.done * width / p.total
	}
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d  %s  %s", bar, p.done, p.total, p.note, time.Since(p.start).Round(100*time.Millisecond))
	p.drawn = time.Now()
}
