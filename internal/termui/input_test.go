package termui

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMultiline(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string // messages completed, in order
	}{
		{"single", []string{"hello"}, []string{"hello"}},
		{"backslash", []string{`one \`, `two\`, "three", "four"}, []string{"one \ntwo\nthree", "four"}},
		{"block", []string{`"""first`, "", "second", `third"""`, "x"}, []string{"first\n\nsecond\nthird", "x"}},
		{"block on one line", []string{`"""a "quoted" word"""`}, []string{`a "quoted" word`}},
		{"indented opener", []string{`  """`, `body`, `"""`}, []string{"\nbody\n"}},
		{"quotes alone are an opener", []string{`"""`, `x"""`}, []string{"\nx"}},
		{"quotes later in a line are text", []string{`say """hi"""`}, []string{`say """hi"""`}},
		{"backslash inside a block is text", []string{`"""a\`, `b"""`}, []string{"a\\\nb"}},
		{"empty", []string{""}, []string{""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			var m multiline
			for _, l := range tc.lines {
				if msg, done := m.add(l); done {
					got = append(got, msg)
					m = multiline{}
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlainInput(t *testing.T) {
	var out bytes.Buffer
	in, err := NewInput(strings.NewReader("hi\r\n\"\"\"a\nb\"\"\"\nx \\\ny\nlast"), &out, ">>> ", "... ")
	if err != nil {
		t.Fatal(err)
	}
	if in.IsTerminal() {
		t.Fatal("a string reader is a terminal")
	}
	var got []string
	for {
		m, err := in.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if diff := cmp.Diff([]string{"hi", "a\nb", "x \ny", "last"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if out.Len() != 0 {
		t.Errorf("plain input printed %q; want no prompts", out.String())
	}
	// A block cut short by the end of the input is still returned.
	in, _ = NewInput(strings.NewReader("\"\"\"open\nmore"), &out, "", "")
	if m, err := in.ReadMessage(); m != "open\nmore" || err != nil {
		t.Errorf("cut block: %q, %v", m, err)
	}
	if _, err := in.ReadMessage(); err != io.EOF {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
}

// syncBuffer is a bytes.Buffer safe for the terminal's writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// terminal returns terminal-mode input fed by the returned writer.
func terminal(t *testing.T) (*Input, *io.PipeWriter, *syncBuffer) {
	r, w := io.Pipe()
	t.Cleanup(func() { w.Close() })
	out := &syncBuffer{}
	return newTerminalInput(r, out, ">>> ", "... "), w, out
}

type result struct {
	msg string
	err error
}

func read(in *Input) <-chan result {
	c := make(chan result, 1)
	go func() {
		m, err := in.ReadMessage()
		c <- result{m, err}
	}()
	return c
}

func wait(t *testing.T, c <-chan result) result {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("ReadMessage did not return")
		return result{}
	}
}

func TestTerminalInput(t *testing.T) {
	in, keys, out := terminal(t)
	// Line editing: the cursor moves left twice, "l" goes in, End.
	c := read(in)
	io.WriteString(keys, "helo\x1b[D\x1b[Dl\x1b[F!\r")
	if r := wait(t, c); r.msg != "hello!" || r.err != nil {
		t.Errorf("edited line: %q, %v; want \"hello!\"", r.msg, r.err)
	}
	if !strings.Contains(out.String(), ">>> ") {
		t.Errorf("no prompt in %q", out.String())
	}

	// Ctrl-C drops the line, even mid-way through a multi-line message,
	// and keeps it out of the history.
	c = read(in)
	io.WriteString(keys, "first \\\rsecond\x03")
	if r := wait(t, c); !errors.Is(r.err, ErrInterrupt) {
		t.Errorf("Ctrl-C: %q, %v; want ErrInterrupt", r.msg, r.err)
	}
	if !strings.Contains(out.String(), "... ") {
		t.Errorf("no continuation prompt in %q", out.String())
	}
	// Keys typed after the Ctrl-C in the same read start the next line.
	c = read(in)
	io.WriteString(keys, "\x03next\r")
	if r := wait(t, c); !errors.Is(r.err, ErrInterrupt) {
		t.Errorf("Ctrl-C on an empty line: %q, %v", r.msg, r.err)
	}
	if r := wait(t, read(in)); r.msg != "next" || r.err != nil {
		t.Errorf("after Ctrl-C: %q, %v; want \"next\"", r.msg, r.err)
	}

	// History: up recalls the last line; empty lines and lines ended by
	// Ctrl-C are not there, so three up from the lines "hello!", "first \",
	// "next" is "hello!".
	c = read(in)
	io.WriteString(keys, "\r")
	wait(t, c)
	for _, tc := range []struct{ keys, want string }{{"\x1b[A\r", "next"}, {"\x1b[A\x1b[A\x1b[A\r", "hello!"}} {
		c = read(in)
		io.WriteString(keys, tc.keys)
		if r := wait(t, c); r.msg != tc.want {
			t.Errorf("keys %q: %q, want %q; screen %q", tc.keys, r.msg, tc.want, out.String())
		}
	}

	// Pasted lines (bracketed paste) make one message with what is typed
	// after them.
	in.term.SetBracketedPasteMode(true)
	c = read(in)
	io.WriteString(keys, "\x1b[200~one\rtwo\r\x1b[201~three\r")
	if r := wait(t, c); r.msg != "one\ntwo\nthree" || r.err != nil {
		t.Errorf("pasted lines: %q, %v; want one message", r.msg, r.err)
	}

	// Ctrl-D on an empty line ends the input.
	c = read(in)
	io.WriteString(keys, "\x04")
	if r := wait(t, c); r.err != io.EOF {
		t.Errorf("Ctrl-D: %q, %v; want io.EOF", r.msg, r.err)
	}
}

func TestWatchInterrupt(t *testing.T) {
	in, keys, _ := terminal(t)
	cancelled := make(chan struct{}, 4)
	stop := in.WatchInterrupt(func() { cancelled <- struct{}{} })
	io.WriteString(keys, "type ahead")
	io.WriteString(keys, "\x03")
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl-C while watching did not cancel")
	}
	stop()
	// The keys typed while watching, less the Ctrl-C, start the next line.
	c := read(in)
	io.WriteString(keys, "!\r")
	if r := wait(t, c); r.msg != "type ahead!" || r.err != nil {
		t.Errorf("after watching: %q, %v; want \"type ahead!\"", r.msg, r.err)
	}
	if len(cancelled) != 0 {
		t.Errorf("cancel called again after stop")
	}
}

func TestCRLFWriter(t *testing.T) {
	var b bytes.Buffer
	n, err := crlfWriter{&b}.Write([]byte("a\nb\n\nc"))
	if n != 6 || err != nil || b.String() != "a\r\nb\r\n\r\nc" {
		t.Errorf("wrote %d, %v: %q", n, err, b.String())
	}
}
