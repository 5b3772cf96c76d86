package termui

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// Tasks shows the progress of a job made of many tasks that produce
// tokens (a dataset collection): done/total, tokens per second, the time
// left and the errors so far. On a terminal it is a bar redrawn in place at
// most every RedrawInterval; elsewhere a plain line every LineInterval.
// Its methods are safe for concurrent use.
type Tasks struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	tty      bool
	width    int
	interval time.Duration
	now      func() time.Time

	start     time.Time
	startDone int // tasks already done at the first Set (a resumed job)
	done      int
	tokens    int64
	errors    int
	last      time.Time
	finished  bool
}

// NewTasks returns a Tasks display of total tasks writing to w.
func NewTasks(w io.Writer, label string, total int) *Tasks {
	tty, width := false, 80
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 20 {
			width = c
		}
	}
	return newTasks(w, label, total, tty, width, time.Now)
}

func newTasks(w io.Writer, label string, total int, tty bool, width int, now func() time.Time) *Tasks {
	t := &Tasks{w: w, label: label, total: total, tty: tty, width: width, now: now, interval: LineInterval}
	if tty {
		t.interval = RedrawInterval
	}
	return t
}

// Set records done tasks, tokens produced since the job started (this
// run) and errors, and redraws when due. The first call fixes the
// starting point, so tasks done by an earlier run do not count toward the
// rate.
func (t *Tasks) Set(done int, tokens int64, errors int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return
	}
	now := t.now()
	if t.start.IsZero() {
		t.start, t.startDone, t.last = now, done, now
		t.done, t.tokens, t.errors = done, tokens, errors
		if t.tty {
			t.draw(now)
		}
		return
	}
	t.done, t.tokens, t.errors = done, tokens, errors
	if now.Sub(t.last) >= t.interval {
		t.draw(now)
		t.last = now
	}
}

// Finish draws the final state and ends the line.
func (t *Tasks) Finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.finished {
		return
	}
	t.finished = true
	if t.start.IsZero() {
		t.start = t.now()
	}
	t.draw(t.now())
	if t.tty {
		fmt.Fprintln(t.w)
	}
}

func (t *Tasks) draw(now time.Time) {
	elapsed := now.Sub(t.start)
	stats := fmt.Sprintf("%d/%d", t.done, t.total)
	if elapsed > 0 {
		stats += fmt.Sprintf(" %.0f tok/s", float64(t.tokens)/elapsed.Seconds())
		if n := t.done - t.startDone; n > 0 && t.total > t.done {
			left := time.Duration(float64(elapsed) * float64(t.total-t.done) / float64(n))
			stats += " ETA " + Duration(left)
		}
	}
	if t.errors > 0 {
		stats += fmt.Sprintf(" %d errors", t.errors)
	}
	if !t.tty {
		fmt.Fprintf(t.w, "%s: %s\n", t.label, stats)
		return
	}
	fmt.Fprintf(t.w, "\r%s\x1b[K", barLine(t.width, t.label, stats, int64(t.done), int64(t.total)))
}
