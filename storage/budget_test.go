package storage

import (
	"context"
	"testing"
	"time"
)

// A budget's deadline is fixed while the run works, moves by the length of
// a pause (overlapping pauses count once), and bounds the contexts made from
// it; a nil one bounds nothing.
func TestBudget(t *testing.T) {
	b := NewBudget(time.Minute)
	end := b.Deadline()
	if d := time.Until(end); d <= 59*time.Second || d > time.Minute {
		t.Fatalf("deadline in %s, want a minute", d)
	}
	ctx, cancel := b.Bound(context.Background())
	if dl, ok := ctx.Deadline(); !ok || !dl.Equal(end) {
		t.Errorf("Bound's deadline %v (%v), want %v", dl, ok, end)
	}
	cancel()
	r1 := b.Pause()
	time.Sleep(20 * time.Millisecond)
	r2 := b.Pause()
	if !b.Deadline().After(end) {
		t.Error("the deadline does not move while paused")
	}
	r1()
	r1() // a second call does nothing
	time.Sleep(20 * time.Millisecond)
	r2()
	moved := b.Deadline().Sub(end)
	if moved < 40*time.Millisecond {
		t.Errorf("the deadline moved by %s, want the 40 ms paused", moved)
	}
	if again := b.Deadline(); !again.Equal(end.Add(moved)) {
		t.Errorf("the deadline moves while not paused: %v, then %v", end.Add(moved), again)
	}

	var none *Budget
	ctx, cancel = none.Bound(context.Background())
	defer cancel()
	if _, ok := ctx.Deadline(); ok {
		t.Error("a nil budget set a deadline")
	}
	none.Pause()()
}
