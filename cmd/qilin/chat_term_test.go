package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/qilin-ai/qilin/chat"
)

// helperArgsEnv, when set, makes TestChatHelperProcess run qilin with
// these arguments (a JSON array), as main would: the terminal test runs
// the test binary itself as qilin.
const helperArgsEnv = "QILIN_HELPER_ARGS"

func TestChatHelperProcess(t *testing.T) {
	raw := os.Getenv(helperArgsEnv)
	if raw == "" {
		t.Skip("runs only as the terminal test's qilin process")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := runMain(ctx, args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// tmuxPane is qilin running in a pane of a private tmux server.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types text literally, then presses the named keys (Enter, C-c).
func (p *tmuxPane) keys(text string, keys ...string) {
	p.t.Helper()
	if text != "" {
		p.tmux("send-keys", "-t", "q", "-l", text)
	}
	if len(keys) > 0 {
		p.tmux(append([]string{"send-keys", "-t", "q"}, keys...)...)
	}
}

// screen returns the visible pane, with colours when escapes is set.
func (p *tmuxPane) screen(escapes bool) string {
	p.t.Helper()
	args := []string{"capture-pane", "-p", "-t", "q", "-S", "-200"}
	if escapes {
		args = append(args, "-e")
	}
	return p.tmux(args...)
}

// waitFor waits until the pane shows want count times in all; a want
// ending in a space counts the lines starting with it (prompts: tmux drops
// trailing spaces).
func (p *tmuxPane) waitFor(want string, count int) string {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.screen(false)
		n := strings.Count(s, want)
		if prompt := strings.TrimSuffix(want, " "); prompt != want {
			n = 0
			for _, l := range strings.Split(s, "\n") {
				if strings.HasPrefix(l, prompt) {
					n++
				}
			}
		}
		if n >= count {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("pane never showed %q %d times:\n%s", want, count, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestChatTerminal drives qilin chat in a terminal (a tmux pane): a
// question with a streamed answer whose reasoning is dimmed, /stats,
// Ctrl-C dropping a line being typed, multi-line messages (typed in a
// """ block and pasted), /save,
// /clear, Ctrl-C stopping an endless answer but not the chat, and Ctrl-D.
func TestChatTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("terminal test skipped in -short mode")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux not installed: skipping the terminal test of qilin chat")
	}
	m := newReasoner(t, "syn-qwen3-f32.gguf", true)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args, _ := json.Marshal([]string{"chat", m.path, "--temp", "0", "--ctx", "4096"})
	status := filepath.Join(dir, "status")
	script := filepath.Join(dir, "run.sh")
	// The pane stays open after qilin exits, so that the end shows.
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"+helperArgsEnv+"='"+string(args)+"' '"+exe+
		"' -test.run='^TestChatHelperProcess$'\necho EXIT:$? > '"+status+"'\necho EXITED\nsleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &tmuxPane{t: t, socket: filepath.Join(dir, "tmux.sock")}
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "q", "-x", "100", "-y", "40", script)
	t.Cleanup(func() { exec.Command("tmux", "-S", p.socket, "kill-server").Run() })

	p.waitFor(">>> ", 1)
	p.keys("How many apples?", "Enter")
	s := p.waitFor(">>> ", 2)
	if !strings.Contains(s, m.reasoning+"\n\n"+m.answer+"\n>>>") {
		t.Errorf("answer not shown after its reasoning:\n%s", s)
	}
	if e := p.screen(true); !strings.Contains(e, "\x1b[2m Let") && !strings.Contains(e, "\x1b[2mLet") {
		t.Errorf("reasoning not dimmed:\n%q", e)
	}

	p.keys("/stats", "Enter")
	p.waitFor("tokens used", 1)
	// Ctrl-C drops the line being typed: what follows is a command again.
	p.keys("half a question", "C-c")
	p.keys("/think hide", "Enter")
	p.waitFor("reasoning hidden", 1)
	p.keys(`"""Count`, "Enter")
	p.waitFor("... ", 1)
	p.keys(`them"""`, "Enter")
	p.waitFor(">>> ", 6)
	// Pasted lines stay one message until Enter is typed.
	p.tmux("set-buffer", "-b", "paste", "Two lines\npasted")
	p.tmux("paste-buffer", "-p", "-d", "-b", "paste", "-t", "q")
	p.keys("", "Enter")
	p.waitFor(">>> ", 7)

	save := filepath.Join(dir, "chat.json")
	p.keys("/save "+save, "Enter")
	p.waitFor("Saved", 1)
	want := []chat.Message{
		{Role: "user", Content: "How many apples?"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
		{Role: "user", Content: "Count\nthem"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
		{Role: "user", Content: "Two lines\npasted"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
	}
	if diff := cmp.Diff(want, readMessages(t, save)); diff != "" {
		t.Errorf("/save (-want +got):\n%s", diff)
	}
	p.keys("/clear", "Enter")
	p.waitFor("Cleared", 1)
	p.keys("/save "+save, "Enter")
	p.waitFor("Saved", 2)
	if got := readMessages(t, save); len(got) != 0 {
		t.Errorf("after /clear, /save wrote %+v", got)
	}

	// Without thinking this model never stops: Ctrl-C ends the answer and
	// the chat goes on.
	p.keys("/think off", "Enter")
	p.waitFor("thinking off", 1)
	p.keys("Talk", "Enter")
	p.waitFor(m.loop, 3)
	p.keys("", "C-c")
	p.waitFor("[stopped]", 1)
	p.keys("/stats", "Enter")
	p.waitFor("tokens used", 2)

	p.keys("", "C-d")
	p.waitFor("EXITED", 1)
	if b, err := os.ReadFile(status); err != nil || strings.TrimSpace(string(b)) != "EXIT:0" {
		t.Errorf("qilin chat ended with %q (%v); want status 0\n%s", b, err, p.screen(false))
	}
}

// TestChatInterruptPiped: with input from a pipe, os.Interrupt (which
// main turns into the cancellation of the command's context) stops the
// answer, not the chat.
func TestChatInterruptPiped(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test skipped in -short mode")
	}
	m := newReasoner(t, "syn-qwen3-f32.gguf", true)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"chat", m.path, "--think=false", "--temp", "0", "--ctx", "4096"})
	cmd := exec.Command(exe, "-test.run=^TestChatHelperProcess$")
	cmd.Env = append(os.Environ(), helperArgsEnv+"="+string(args))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	// The output goes to a file that the test reads while qilin writes.
	outPath := filepath.Join(t.TempDir(), "out")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	output := func() string {
		b, _ := os.ReadFile(outPath)
		return string(b)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitOut := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(output(), want); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("output never showed %q:\n%.2000s", want, output())
			}
		}
	}
	io.WriteString(stdin, "Talk\n")
	waitOut(strings.Repeat(m.loop, 3))
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Skipf("cannot send os.Interrupt here: %v", err)
	}
	waitOut("[stopped]")
	io.WriteString(stdin, "/stats\n")
	waitOut("tokens used")
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("qilin chat: %v\n%.2000s", err, output())
	}
}
