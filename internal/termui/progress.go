package termui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// Bar shows the progress of a transfer of a known (or unknown, total <= 0)
// size: on a terminal a bar redrawn in place at most every RedrawInterval,
// with size, speed and time left; elsewhere a plain line every
// LineInterval. Its methods are safe for concurrent use.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int64
	tty      bool
	width    int // terminal columns
	interval time.Duration
	now      func() time.Time

	start     time.Time
	startDone int64 // bytes already there at the first Set (a resumed download)
	done      int64
	last      time.Time // last output
	finished  bool
	amount    func(int64) string   // Bytes, or a count of Unit
	rate      func(float64) string // amount per second
	note      string               // shown after the stats (SetNote)
}

// Redraw intervals of a Bar on a terminal and in plain output.
const (
	RedrawInterval = 100 * time.Millisecond
	LineInterval   = 5 * time.Second
)

// NewBar returns a Bar writing to w, drawn in place when w is a terminal.
func NewBar(w io.Writer, label string, total int64) *Bar {
	tty, width := false, 80
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		tty = true
		if c, _, err := term.GetSize(int(f.Fd())); err == nil && c > 20 {
			width = c
		}
	}
	return newBar(w, label, total, tty, width, time.Now)
}

// NewCountBar is NewBar for a count of things other than bytes: amounts
// read "1200 tokens", rates "340 tokens/s".
func NewCountBar(w io.Writer, label string, total int64, unit string) *Bar {
	b := NewBar(w, label, total)
	b.countUnits(unit)
	return b
}

func (b *Bar) countUnits(unit string) {
	b.amount = func(n int64) string { return fmt.Sprintf("%d %s", n, unit) }
	b.rate = func(r float64) string { return fmt.Sprintf("%.3g %s/s", r, unit) }
}

// SetNote sets a short text shown after the stats, such as the current
// loss; it appears at the next redraw.
func (b *Bar) SetNote(note string) {
	b.mu.Lock()
	b.note = note
	b.mu.Unlock()
}

func newBar(w io.Writer, label string, total int64, tty bool, width int, now func() time.Time) *Bar {
	b := &Bar{w: w, label: label, total: total, tty: tty, width: width, now: now, interval: LineInterval, amount: Bytes,
		rate: func(r float64) string { return Bytes(int64(r)) + "/s" }}
	if tty {
		b.interval = RedrawInterval
	}
	return b
}

// Set records that done bytes are complete and redraws when due. The first
// call fixes the starting point, so bytes resumed from disk do not count
// toward the speed.
func (b *Bar) Set(done int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	t := b.now()
	if b.start.IsZero() {
		b.start, b.startDone, b.last = t, done, t
		b.done = done
		if b.tty {
			b.draw(t)
		}
		return
	}
	b.done = done
	if t.Sub(b.last) >= b.interval {
		b.draw(t)
		b.last = t
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	b.finished = true
	if b.start.IsZero() {
		b.start = b.now()
	}
	b.draw(b.now())
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

// draw writes the current state: in place on a terminal, a line elsewhere.
func (b *Bar) draw(t time.Time) {
	elapsed := t.Sub(b.start)
	var rate float64
	if elapsed > 0 {
		rate = float64(b.done-b.startDone) / elapsed.Seconds()
	}
	stats := b.amount(b.done)
	if b.total > 0 {
		stats = fmt.Sprintf("%3d%% %s/%s", b.done*100/b.total, b.amount(b.done), b.amount(b.total))
	}
	if rate > 0 {
		stats += " " + b.rate(rate)
		if b.total > b.done {
			stats += " ETA " + Duration(time.Duration(float64(b.total-b.done)/rate*float64(time.Second)))
		}
	}
	if b.note != "" {
		stats += " " + b.note
	}
	if !b.tty {
		fmt.Fprintf(b.w, "%s: %s\n", b.label, stats)
		return
	}
	// \r returns to the line start and \x1b[K clears what a longer line left.
	fmt.Fprintf(b.w, "\r%s\x1b[K", barLine(b.width, b.label, stats, b.done, b.total))
}

// barLine lays out a progress line of width columns: up to 30 columns of
// label, a bar of done/total in what the stats leave (none when total is
// unknown or the line is narrow), then the stats; one column spare so the
// terminal never wraps.
func barLine(width int, label, stats string, done, total int64) string {
	avail := width - 1 - len(stats) - 1
	label = truncate(label, min(len(label), 30, max(avail, 8)))
	avail -= len(label) + 1
	line := label + " "
	if total > 0 && avail >= 13 {
		barWidth := min(40, avail-3) // "[", "] "
		fill := int(int64(barWidth) * min(done, total) / total)
		line += "[" + strings.Repeat("=", fill) + strings.Repeat(" ", barWidth-fill) + "] "
	}
	return line + stats
}

// truncate shortens s to n bytes with a leading ellipsis, keeping the end
// (the distinctive part of a file name).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-(n-3):]
}

// Bytes formats a byte count with binary units: "512 B", "1.5 KiB",
// "374.3 MiB", "1.2 GiB".
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// Duration formats a duration to the second: "45s", "3m05s", "2h01m".
func Duration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}

// Ago formats how long before now t was, for listings: "never" for the
// zero time, else "just now", "5 minutes ago", "3 hours ago", "2 days ago",
// or the date for more than a month.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return fmt.Sprintf("%d %ss ago", n, unit)
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int64(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int64(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return plural(int64(d/(24*time.Hour)), "day")
	}
	return t.Local().Format("2006-01-02")
}
