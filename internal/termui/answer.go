package termui

import (
	"io"
	"os"

	"golang.org/x/term"
)

// ANSI select graphic rendition sequences.
const (
	faintOn  = "\x1b[2m"
	faintOff = "\x1b[22m"
)

// Faint returns s drawn faint (dimmed) on an ANSI terminal.
func Faint(s string) string { return faintOn + s + faintOff }

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Markers that frame the reasoning in plain (not dimmed) output, as Ollama
// prints them.
const (
	ThinkingStart = "Thinking...\n"
	ThinkingEnd   = "\n...done thinking.\n\n"
)

// AnswerWriter prints the streamed answer of a reasoning model: first its
// reasoning, then the answer itself. The reasoning goes to Reasoning, which
// may be Answer itself: dimmed when Dim is set (for a terminal), framed by
// ThinkingStart and ThinkingEnd when it shares Answer without Dim, and as
// it is otherwise. Hide leaves the reasoning out (on a dimmed terminal a
// faint "Thinking..." stands in for it until the answer starts). Errors
// of the writers are returned by End.
type AnswerWriter struct {
	Answer    io.Writer
	Reasoning io.Writer
	Dim       bool
	Hide      bool

	state int // awNone, awReasoning, awAnswer
	err   error
	open  bool // the last text written did not end a line
}

const (
	awNone = iota
	awReasoning
	awAnswer
)

// Write prints the next piece of reasoning and of answer text (either may
// be empty).
func (w *AnswerWriter) Write(reasoning, answer string) {
	if reasoning != "" && w.state == awNone {
		w.state = awReasoning
		switch {
		case w.Hide && w.Dim && w.shared():
			w.put(w.Reasoning, Faint("Thinking..."))
		case w.Hide:
		case !w.Dim && w.shared():
			w.put(w.Reasoning, ThinkingStart)
		}
	}
	if reasoning != "" && w.state == awReasoning && !w.Hide {
		if w.Dim {
			reasoning = Faint(reasoning)
		}
		w.put(w.Reasoning, reasoning)
	}
	if answer == "" {
		return
	}
	if w.state != awAnswer {
		w.endReasoning()
		w.state = awAnswer
	}
	w.put(w.Answer, answer)
}

// End finishes the output, ending its last line, and returns the first
// error of a writer.
func (w *AnswerWriter) End() error {
	if w.state == awReasoning {
		w.endReasoning()
		w.state = awNone
	}
	if w.open {
		w.put(w.Answer, "\n")
	}
	return w.err
}

// endReasoning closes the reasoning before the answer starts.
func (w *AnswerWriter) endReasoning() {
	if w.state != awReasoning {
		return
	}
	switch {
	case w.Hide && w.Dim && w.shared():
		w.put(w.Reasoning, "\r\x1b[K") // erase the stand-in
	case w.Hide:
	case !w.shared():
		w.put(w.Reasoning, "\n")
	case w.Dim:
		w.put(w.Reasoning, "\n\n")
	default:
		w.put(w.Reasoning, ThinkingEnd)
	}
	w.open = false
}

func (w *AnswerWriter) shared() bool { return w.Reasoning == w.Answer }

func (w *AnswerWriter) put(to io.Writer, s string) {
	if s == "" {
		return
	}
	if _, err := io.WriteString(to, s); err != nil && w.err == nil {
		w.err = err
	}
	if to == w.Answer {
		w.open = s[len(s)-1] != '\n'
	}
}
