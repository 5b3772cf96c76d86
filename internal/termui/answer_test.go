package termui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAnswerWriter(t *testing.T) {
	type piece struct{ r, a string }
	think := []piece{{"let me", ""}, {" see", ""}, {"", "It is"}, {"", " 42."}}
	for _, tc := range []struct {
		name          string
		pieces        []piece
		dim, hide     bool
		separate      bool // reasoning to its own writer
		want, wantErr string
	}{
		{"plain", think, false, false, false,
			"Thinking...\nlet me see\n...done thinking.\n\nIt is 42.\n", ""},
		{"dim", think, true, false, false,
			faintOn + "let me" + faintOff + faintOn + " see" + faintOff + "\n\nIt is 42.\n", ""},
		{"hidden, plain", think, false, true, false, "It is 42.\n", ""},
		{"hidden, dim: a stand-in erased", think, true, true, false,
			faintOn + "Thinking..." + faintOff + "\r\x1b[KIt is 42.\n", ""},
		{"separate writers", think, false, false, true, "It is 42.\n", "let me see\n"},
		{"separate, dim", think, true, false, true, "It is 42.\n", faintOn + "let me" + faintOff + faintOn + " see" + faintOff + "\n"},
		{"no reasoning", []piece{{"", "Hi"}, {"", "!\n"}}, true, false, false, "Hi!\n", ""},
		{"reasoning only (cut short)", []piece{{"hmm", ""}}, false, false, false,
			"Thinking...\nhmm\n...done thinking.\n\n", ""},
		{"both in one piece", []piece{{"r", "a"}}, false, false, true, "a\n", "r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, r bytes.Buffer
			w := &AnswerWriter{Answer: &a, Reasoning: &a, Dim: tc.dim, Hide: tc.hide}
			if tc.separate {
				w.Reasoning = &r
			}
			for _, p := range tc.pieces {
				w.Write(p.r, p.a)
			}
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, a.String()); diff != "" {
				t.Errorf("answer output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantErr, r.String()); diff != "" {
				t.Errorf("reasoning output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSpinner(t *testing.T) {
	var out syncBuffer
	s := newSpinner(&out, "loading m.gguf", true, time.Millisecond, time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\r") < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s.Stop()
	s.Stop()
	got := out.String()
	if !strings.Contains(got, " loading m.gguf 0s\x1b[K") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("spinner drew %q; want frames with the label, erased at the end", got)
	}
	// Quick work draws nothing; a non-terminal never does.
	var quiet syncBuffer
	newSpinner(&quiet, "x", true, time.Hour, time.Millisecond).Stop()
	newSpinner(&quiet, "x", false, 0, time.Millisecond).Stop()
	if quiet.String() != "" {
		t.Errorf("spinner drew %q", quiet.String())
	}
}
