package termui

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Spinner shows that something of unknown length is under way (loading a
// model): on a terminal, after a short delay so that quick work shows
// nothing, a turning wheel with the label and the time spent, erased by
// Stop. Elsewhere it prints nothing.
type Spinner struct {
	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

// Spinner timing: nothing is drawn for SpinnerDelay, then a frame every
// SpinnerInterval.
const (
	SpinnerDelay    = 200 * time.Millisecond
	SpinnerInterval = 100 * time.Millisecond
)

var spinnerFrames = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// NewSpinner starts a spinner on w, drawn only when w is a terminal.
func NewSpinner(w io.Writer, label string) *Spinner {
	return newSpinner(w, label, IsTerminal(w), SpinnerDelay, SpinnerInterval)
}

func newSpinner(w io.Writer, label string, tty bool, delay, interval time.Duration) *Spinner {
	s := &Spinner{quit: make(chan struct{}), done: make(chan struct{})}
	if !tty {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		start := time.Now()
		select {
		case <-s.quit:
			return
		case <-time.After(delay):
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(w, "\r%c %s %s\x1b[K", spinnerFrames[i%len(spinnerFrames)], label, Duration(time.Since(start)))
			select {
			case <-s.quit:
				io.WriteString(w, "\r\x1b[K")
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// Stop erases the spinner; it returns once the spinner is gone and may be
// called more than once.
func (s *Spinner) Stop() {
	s.stopOnce.Do(func() { close(s.quit) })
	<-s.done
}
