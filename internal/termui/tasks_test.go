package termui

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTasks(t *testing.T) {
	clock := time.Unix(0, 0)
	now := func() time.Time { return clock }
	var plain strings.Builder
	p := newTasks(&plain, "collect", 100, false, 80, now)
	p.Set(20, 0, 0) // 20 done by an earlier run
	clock = clock.Add(10 * time.Second)
	p.Set(40, 5000, 3) // 20 in 10s: 60 left take 30s
	p.Finish()
	want := "collect: 40/100 500 tok/s ETA 30s 3 errors\ncollect: 40/100 500 tok/s ETA 30s 3 errors\n"
	if diff := cmp.Diff(want, plain.String()); diff != "" {
		t.Errorf("plain output (-want +got):\n%s", diff)
	}

	var tty strings.Builder
	clock = time.Unix(0, 0)
	q := newTasks(&tty, "collect", 10, true, 60, now)
	q.Set(0, 0, 0)
	clock = clock.Add(2 * time.Second)
	q.Set(5, 100, 0)
	q.Finish()
	lines := strings.Split(tty.String(), "\r")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "[") || !strings.Contains(last, "5/10 50 tok/s ETA 2s") || len(strings.TrimSuffix(strings.TrimSuffix(last, "\n"), "\x1b[K")) >= 60 {
		t.Errorf("terminal line %q: want a bar, 5/10, the rate and ETA within 60 columns", last)
	}
}
