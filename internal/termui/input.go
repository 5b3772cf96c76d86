package termui

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"

	"golang.org/x/term"
)

// ErrInterrupt is returned by ReadMessage when the user pressed Ctrl-C at
// the prompt: the message being typed was dropped.
var ErrInterrupt = errors.New("termui: input interrupted")

// Input reads a chat's messages. On a terminal it puts the terminal in raw
// mode and edits lines with golang.org/x/term (cursor keys, history,
// Ctrl-A/E/K/U/W); elsewhere it reads plain lines, prints no prompts, and
// so can be scripted. Either way a message may span several lines: a line
// ending in a backslash continues on the next, a line starting with """
// opens a block that runs to the next line ending in """, and text pasted
// into a terminal (bracketed paste) stays one message until Enter is typed.
//
// Ctrl-C at the prompt drops the message being typed (ErrInterrupt); Ctrl-D
// on an empty line, or the end of the input, is io.EOF. While an answer
// streams, WatchInterrupt turns Ctrl-C into a cancellation. Call Close to
// restore the terminal.
type Input struct {
	prompt, cont string
	out          io.Writer // where answers go: \n becomes \r\n on a raw terminal

	// terminal input
	term    *term.Terminal
	keys    *keyReader
	fd      int           // terminal to size and restore; -1 for none
	restore *term.State   // state before raw mode
	plain   *bufio.Reader // plain input
}

// NewInput returns an Input reading from in and echoing to out. When both
// are terminals, the terminal is switched to raw mode until Close; prompt
// starts a message and cont each of its continuation lines.
func NewInput(in io.Reader, out io.Writer, prompt, cont string) (*Input, error) {
	fin, ok1 := in.(*os.File)
	fout, ok2 := out.(*os.File)
	if !ok1 || !ok2 || !term.IsTerminal(int(fin.Fd())) || !term.IsTerminal(int(fout.Fd())) {
		return &Input{prompt: prompt, cont: cont, out: out, fd: -1, plain: bufio.NewReader(in)}, nil
	}
	fd := int(fin.Fd())
	st, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	i := newTerminalInput(in, out, prompt, cont)
	i.fd, i.restore = fd, st
	i.term.SetBracketedPasteMode(true)
	return i, nil
}

// newTerminalInput returns terminal-mode input over any reader and writer
// (a terminal already in raw mode, or a test's pipes).
func newTerminalInput(in io.Reader, out io.Writer, prompt, cont string) *Input {
	keys := newKeyReader(in)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{keys, out}, prompt)
	t.History = &history{keys: keys}
	return &Input{prompt: prompt, cont: cont, out: crlfWriter{out}, term: t, keys: keys, fd: -1}
}

// IsTerminal reports whether the input is an interactive terminal.
func (i *Input) IsTerminal() bool { return i.term != nil }

// Writer returns the writer for everything printed between prompts.
func (i *Input) Writer() io.Writer { return i.out }

// Close restores the terminal to the state it had before NewInput.
func (i *Input) Close() error {
	if i.restore == nil {
		return nil
	}
	i.term.SetBracketedPasteMode(false)
	err := term.Restore(i.fd, i.restore)
	i.restore = nil
	return err
}

// ReadMessage reads the next message, joining continuation lines with
// newlines. It returns io.EOF at the end of the input (a message cut short
// by it is returned first) and ErrInterrupt when Ctrl-C dropped the input.
func (i *Input) ReadMessage() (string, error) {
	var m multiline
	for {
		prompt := i.prompt
		if m.started() {
			prompt = i.cont
		}
		line, err := i.readLine(prompt)
		if errors.Is(err, term.ErrPasteIndicator) {
			// A whole line pasted: the message goes on.
			m.lines = append(m.lines, line)
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && m.started() {
				return m.text(), nil
			}
			return "", err
		}
		if msg, done := m.add(line); done {
			return msg, nil
		}
	}
}

// readLine reads one line without its end; term.ErrPasteIndicator comes
// with a line that was pasted whole.
func (i *Input) readLine(prompt string) (string, error) {
	if i.term == nil {
		line, err := i.plain.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			return "", err
		}
		return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
	}
	if i.fd >= 0 {
		if w, h, err := term.GetSize(i.fd); err == nil {
			i.term.SetSize(w, h)
		}
	}
	i.term.SetPrompt(prompt)
	line, err := i.term.ReadLine()
	if i.keys.takeInterrupt() {
		return "", ErrInterrupt
	}
	if errors.Is(err, io.EOF) {
		// Ctrl-D leaves the cursor after the prompt.
		io.WriteString(i.out, "\n")
	}
	return line, err
}

// WatchInterrupt calls cancel when the user presses Ctrl-C or the process
// receives os.Interrupt, until stop is called; stop returns once watching
// has ended (it may be called more than once). Keys typed meanwhile, other than Ctrl-C, wait for the next
// ReadMessage. cancel may be called more than once.
func (i *Input) WatchInterrupt(cancel func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		var keys <-chan keyChunk
		if i.keys != nil {
			keys = i.keys.src
		}
		for {
			select {
			case <-quit:
				return
			case <-sigs:
				cancel()
			case c := <-keys:
				if i.keys.keep(c, true) {
					cancel()
				}
				if c.err != nil {
					keys = nil // the reader has stopped
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			signal.Stop(sigs)
			close(quit)
		})
		<-done
	}
}

// multiline assembles a message from lines: a line ending in a backslash
// continues on the next; a first line starting with """ opens a block
// closed by a line ending in """ (possibly the same line).
type multiline struct {
	lines []string
	block bool // inside a """ block
}

const blockQuote = `"""`

func (m *multiline) started() bool { return len(m.lines) > 0 }

func (m *multiline) text() string { return strings.Join(m.lines, "\n") }

// add takes the next line and reports whether the message is complete.
func (m *multiline) add(line string) (string, bool) {
	switch {
	case m.block:
		if strings.HasSuffix(line, blockQuote) {
			m.lines = append(m.lines, strings.TrimSuffix(line, blockQuote))
			return m.text(), true
		}
		m.lines = append(m.lines, line)
		return "", false
	case !m.started() && strings.HasPrefix(strings.TrimLeft(line, " \t"), blockQuote):
		rest := strings.TrimPrefix(strings.TrimLeft(line, " \t"), blockQuote)
		if len(rest) >= len(blockQuote) && strings.HasSuffix(rest, blockQuote) {
			return strings.TrimSuffix(rest, blockQuote), true
		}
		m.block = true
		m.lines = append(m.lines, rest)
		return "", false
	case strings.HasSuffix(line, `\`):
		m.lines = append(m.lines, strings.TrimSuffix(line, `\`))
		return "", false
	}
	m.lines = append(m.lines, line)
	return m.text(), true
}

const keyCtrlC = 3

// keyChunk is what one read of the terminal returned.
type keyChunk struct {
	b   []byte
	err error
}

// keyReader reads the terminal in its own goroutine, so that the keys can
// be watched for Ctrl-C while an answer streams, and hands them to
// term.Terminal. A Ctrl-C reaches the terminal as Enter, with the line
// marked interrupted: term.Terminal itself would end the input.
type keyReader struct {
	src chan keyChunk

	mu          sync.Mutex
	pending     []byte
	err         error // the reader's final error, once pending is used up
	interrupted bool  // the last line was ended by Ctrl-C
}

func newKeyReader(r io.Reader) *keyReader {
	k := &keyReader{src: make(chan keyChunk)}
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := r.Read(buf)
			k.src <- keyChunk{bytes.Clone(buf[:n]), err}
			if err != nil {
				return
			}
		}
	}()
	return k
}

// Read hands out the keys typed so far, up to the next Ctrl-C.
func (k *keyReader) Read(p []byte) (int, error) {
	k.mu.Lock()
	waiting := len(k.pending) == 0 && k.err == nil
	k.mu.Unlock()
	if waiting {
		k.keep(<-k.src, false)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.pending) == 0 {
		return 0, k.err
	}
	if k.pending[0] == keyCtrlC {
		k.pending = k.pending[1:]
		k.interrupted = true
		p[0] = '\r'
		return 1, nil
	}
	n := len(k.pending)
	if i := bytes.IndexByte(k.pending, keyCtrlC); i >= 0 {
		n = i
	}
	n = copy(p, k.pending[:n])
	k.pending = k.pending[n:]
	return n, nil
}

// keep queues a chunk for Read and reports whether it holds a Ctrl-C,
// which dropCtrlC (set while an answer streams) takes out of the keys.
func (k *keyReader) keep(c keyChunk, dropCtrlC bool) (ctrlC bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ctrlC = bytes.IndexByte(c.b, keyCtrlC) >= 0
	if ctrlC && dropCtrlC {
		c.b = bytes.ReplaceAll(c.b, []byte{keyCtrlC}, nil)
	}
	k.pending = append(k.pending, c.b...)
	if c.err != nil {
		k.err = c.err
	}
	return ctrlC
}

// takeInterrupt reports whether the line just read was ended by Ctrl-C,
// and clears the mark.
func (k *keyReader) takeInterrupt() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	v := k.interrupted
	k.interrupted = false
	return v
}

// interruptedNow reports the mark without clearing it.
func (k *keyReader) interruptedNow() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.interrupted
}

// history keeps the last lines entered for the up and down keys, leaving
// out empty lines, repeats of the line before, and lines ended by Ctrl-C.
type history struct {
	keys    *keyReader
	entries []string // oldest first
}

const maxHistory = 500

func (h *history) Add(s string) {
	if strings.TrimSpace(s) == "" || h.keys.interruptedNow() || (len(h.entries) > 0 && h.entries[len(h.entries)-1] == s) {
		return
	}
	if len(h.entries) == maxHistory {
		h.entries = h.entries[1:]
	}
	h.entries = append(h.entries, s)
}

func (h *history) Len() int { return len(h.entries) }

// At returns the n-th most recent entry (0 is the last).
func (h *history) At(n int) string { return h.entries[len(h.entries)-1-n] }

// crlfWriter writes to a raw terminal, where a newline must be \r\n.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			m, err := c.w.Write(p)
			return n + m, err
		}
		m, err := c.w.Write(p[:i])
		n += m
		if err != nil {
			return n, err
		}
		if _, err := c.w.Write([]byte("\r\n")); err != nil {
			return n, err
		}
		n++
		p = p[i+1:]
	}
	return n, nil
}
