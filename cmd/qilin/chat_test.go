package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/engine"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/enginetest"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/quant"
	"github.com/qilin-ai/qilin/tokenizer"
)

// scripted makes models whose output is known: copies of a shared F32
// synthetic model whose layers add nothing to the residual stream
// (attn_output and the FFNs' down projections are zero), so the last hidden state is the
// embedding of the last token, and whose output matrix gives a large logit
// to next[t] from the embedding of t. Decoding, greedy or sampled, then
// follows next from the last prompt token.
type scripted struct {
	base string
	f    *gguf.File
	tok  *tokenizer.Tokenizer
	e    *engine.Engine // to render prompts as the CLI does
}

// newScripted scripts base, a file of the shared models/, or of next/models/
// when it starts with "next/".
func newScripted(t *testing.T, base string) *scripted {
	t.Helper()
	var path string
	if next, ok := strings.CutPrefix(base, "next/"); ok {
		path = testdata.Path(t, "next", "models", next)
	} else {
		path = testdata.Path(t, "models", base)
	}
	e, err := engine.Load(path, engine.Options{Context: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &scripted{base: path, f: e.File, tok: e.Tok, e: e}
}

// ids returns the tokens of text (control-token text as control tokens).
func (s *scripted) ids(t *testing.T, text string) []int {
	t.Helper()
	ids, err := s.tok.Encode(text, false, true)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// prompt returns the prompt the CLI renders for msgs.
func (s *scripted) prompt(t *testing.T, msgs []chat.Message, think bool) engine.ChatPrompt {
	t.Helper()
	p, err := renderChat(s.e, msgs, think)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// script adds the chain a[0] -> a[1] -> ... to next, failing on a token
// given two successors.
func script(t *testing.T, next map[int]int, chain ...int) {
	t.Helper()
	for i := 0; i+1 < len(chain); i++ {
		if n, ok := next[chain[i]]; ok && n != chain[i+1] {
			t.Fatalf("token %d scripted to be followed by both %d and %d", chain[i], n, chain[i+1])
		}
		next[chain[i]] = chain[i+1]
	}
}

// write writes the scripted model and returns its path.
func (s *scripted) write(t *testing.T, next map[int]int) string {
	t.Helper()
	emb, ok := s.f.Tensor("token_embd.weight")
	if !ok || emb.Type != quant.F32 {
		t.Fatalf("%s: want an F32 token_embd.weight", s.base)
	}
	nEmbd, nVocab := int(emb.Dims[0]), int(emb.Dims[1])
	row := func(tok int) []float64 {
		r := make([]float64, nEmbd)
		var ss float64
		for i := range r {
			r[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(emb.Data[4*(tok*nEmbd+i):])))
			ss += r[i] * r[i]
		}
		// RMS-normalized, as the output norm (all ones here) leaves it.
		for i := range r {
			r[i] /= math.Sqrt(ss / float64(nEmbd))
		}
		return r
	}
	// output (n_vocab, n_embd): row next[t] = 50/n_embd * rmsnorm(emb[t]),
	// a logit of 50 for next[t] after t; random embeddings of 256 values
	// are near orthogonal, so every other logit stays far below.
	out := make([]float32, nVocab*nEmbd)
	for from, to := range next {
		for i, v := range row(from) {
			out[to*nEmbd+i] += float32(50 * v / float64(nEmbd))
		}
	}
	w := gguf.NewWriter()
	for _, kv := range s.f.KV {
		w.SetKV(kv.Key, kv.Value)
	}
	f32 := func(v []float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	for _, tn := range s.f.Tensors {
		data := tn.Data
		switch {
		case tn.Name == "output_norm.weight":
			ones := make([]float32, tn.NumElements())
			for i := range ones {
				ones[i] = 1
			}
			data = f32(ones)
		case strings.HasSuffix(tn.Name, ".attn_output.weight"), strings.HasSuffix(tn.Name, ".ffn_down.weight"),
			strings.HasSuffix(tn.Name, ".ffn_down_exps.weight"), strings.HasSuffix(tn.Name, ".ffn_down_shexp.weight"):
			data = make([]byte, len(tn.Data))
		case tn.Name == "output.weight":
			continue
		}
		if err := w.AddTensor(tn.Name, tn.Type, tn.Dims, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddTensor("output.weight", quant.F32, []uint64{uint64(nEmbd), uint64(nVocab)}, f32(out)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scripted-"+s.base[strings.LastIndex(s.base, "/")+1:])
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// reasoner is a scripted model that thinks, then answers.
type reasoner struct {
	path              string
	reasoning, answer string // what the split output must be
	gen               int    // tokens generated in a turn with thinking
	loop              string // with loop: what repeats in the answer without thinking
	*scripted
}

// newReasoner scripts base (a model with a reasoning template) to answer
// every turn with "<think> Let me count the apples</think>There are three"
// when thinking, and "There are three" when not; with loop, the answer
// without thinking goes on forever instead.
func newReasoner(t *testing.T, base string, loop bool) *reasoner {
	t.Helper()
	s := newScripted(t, base)
	user := []chat.Message{{Role: "user", Content: "How many apples?"}}
	on, off := s.prompt(t, user, true), s.prompt(t, user, false)
	lastOn, lastOff := on.Tokens[len(on.Tokens)-1], off.Tokens[len(off.Tokens)-1]
	think, unthink := s.ids(t, chat.ThinkOpen), s.ids(t, chat.ThinkClose)
	reason, answer := s.ids(t, " Let me count the apples"), s.ids(t, "There are three")
	if len(think) != 1 || len(unthink) != 1 {
		t.Fatalf("%s: <think> %v and </think> %v are not single tokens", base, think, unthink)
	}
	r := &reasoner{reasoning: "Let me count the apples", answer: "There are three", scripted: s}
	next := map[int]int{}
	chain := []int{lastOn}
	if !on.StartsOpen() { // the model opens its reasoning itself
		chain = append(chain, think[0])
	}
	chain = append(append(append(chain, reason...), unthink...), answer...)
	script(t, next, append(chain, s.tok.EOS())...)
	r.gen = len(chain) - 1
	if loop {
		// Without thinking, two other tokens in turn, for ever.
		var two []int
		for _, id := range s.ids(t, " yes no maybe so then") {
			if _, used := next[id]; !used && id != lastOff && len(two) < 2 && (len(two) == 0 || two[0] != id) {
				two = append(two, id)
			}
		}
		script(t, next, lastOff, two[0], two[1], two[0])
		r.loop = s.tok.Decode(two)
	} else {
		script(t, next, append([]int{lastOff}, answer...)...)
	}
	r.path = s.write(t, next)
	return r
}

// runJSON runs qilin run --json and decodes its output.
func runJSON(t *testing.T, args ...string) runResult {
	t.Helper()
	out, errs, code := runCLI(t, append([]string{"run", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("run %v: exit %d: %s", args, code, errs)
	}
	var r runResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	return r
}

func TestRunChatSplitsReasoning(t *testing.T) {
	for _, base := range []string{
		"syn-qwen3-f32.gguf",          // Qwen3: the model opens <think>; enable_thinking=false closes an empty one
		"syn-qwen2-f32.gguf",          // DeepSeek-R1-Distill: the template opens <think> only when enable_thinking is true
		"next/syn-deepseek2-f32.gguf", // deepseek2 (DeepSeek-R1's own architecture) with R1's template
	} {
		t.Run(base, func(t *testing.T) {
			m := newReasoner(t, base, false)
			for _, temp := range []string{"0", "0.8"} {
				r := runJSON(t, m.path, "How many apples?", "--chat", "--temp", temp, "--max-tokens", "40")
				if r.Reasoning == nil || r.Content == nil {
					t.Fatalf("--chat --json without reasoning or content: %+v", r)
				}
				got := []string{*r.Reasoning, *r.Content, r.StopReason}
				if diff := cmp.Diff([]string{m.reasoning, m.answer, "stop"}, got); diff != "" {
					t.Errorf("temp %s: reasoning, content, stop (-want +got):\n%s\ntext %q", temp, diff, r.Text)
				}
				if !strings.Contains(r.Text, m.answer) || len(r.Tokens) == 0 {
					t.Errorf("text %q, tokens %v: the raw output is kept", r.Text, r.Tokens)
				}
			}

			// --think=false implies --chat and changes the prompt.
			on := runJSON(t, m.path, "How many apples?", "--chat", "--temp", "0")
			off := runJSON(t, m.path, "How many apples?", "--think=false", "--temp", "0")
			if off.Reasoning == nil || *off.Reasoning != "" || off.Content == nil || *off.Content != m.answer {
				t.Errorf("--think=false: reasoning %v, content %v; want none and %q", off.Reasoning, off.Content, m.answer)
			}
			pOn, pOff := m.tok.Decode(on.PromptTokens), m.tok.Decode(off.PromptTokens)
			if !strings.HasSuffix(pOff, chat.ThinkClose+"\n\n") && !strings.HasSuffix(pOff, chat.ThinkClose) {
				t.Errorf("--think=false prompt does not end by closing the reasoning: %q", pOff)
			}
			if strings.HasSuffix(pOn, chat.ThinkClose+"\n\n") || !strings.Contains(pOn, "How many apples?") {
				t.Errorf("thinking prompt %q", pOn)
			}

			// Plain output: the answer on stdout, the reasoning on stderr.
			out, errs, code := runCLI(t, "run", m.path, "How many apples?", "--chat", "--system", "Count well.", "--temp", "0")
			if code != 0 || out != m.answer+"\n" || !strings.Contains(errs, m.reasoning+"\n") {
				t.Errorf("plain --chat: exit %d, stdout %q, stderr %q", code, out, errs)
			}
			sys := runJSON(t, m.path, "How many apples?", "--system", "Count well.", "--temp", "0")
			if p := m.tok.Decode(sys.PromptTokens); !strings.Contains(p, "Count well.") {
				t.Errorf("--system missing from the prompt %q", p)
			}
		})
	}
}

func TestRunChatFallbackTemplate(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	out, errs, code := runCLI(t, "run", model, "Once upon a time", "--chat", "--temp", "0", "--max-tokens", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "no chat template") || !strings.Contains(errs, chat.DefaultTemplateName) {
		t.Errorf("no fallback warning: stderr %q", errs)
	}
	var r runResult
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Content == nil || *r.Content != r.Text {
		t.Errorf("output %q (%v): a model without reasoning answers in content", out, err)
	}
	// The warning comes with --think=false too, and --tokens conflicts.
	if _, errs, code = runCLI(t, "run", model, "--tokens", "1,2", "--chat"); code != 2 {
		t.Errorf("--tokens with --chat: exit %d, %q", code, errs)
	}
}

// chatRun runs qilin chat with input as standard input.
func chatRun(t *testing.T, input string, args ...string) (stdout, stderr string) {
	t.Helper()
	old := chatStdin
	chatStdin = strings.NewReader(input)
	defer func() { chatStdin = old }()
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), append([]string{"chat"}, args...), &out, &errb); code != 0 {
		t.Fatalf("chat %v: exit %d: %s", args, code, errb.String())
	}
	return out.String(), errb.String()
}

// readMessages reads a file written by /save.
func readMessages(t *testing.T, path string) []chat.Message {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []chat.Message
	if err := json.Unmarshal(b, &msgs); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	return msgs
}

func TestChatPiped(t *testing.T) {
	m := newReasoner(t, "syn-qwen3-f32.gguf", false)
	dir := t.TempDir()
	save1, save2 := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	input := strings.Join([]string{
		"How many apples?",
		"/stats",
		"/think hide",
		`"""And now`, `how many?"""`,
		"/stats",
		"/think off",
		"Again \\", "please",
		"/save " + save1,
		"/clear",
		"/save " + save2,
		"/bogus",
		"/bye",
		"never read",
	}, "\n")
	out, errs := chatRun(t, input, m.path, "--system", "Count well.", "--temp", "0", "--ctx", "256")
	if errs != "" {
		t.Errorf("stderr %q", errs)
	}
	// The first answer shows its reasoning, the second hides it, the third
	// has none; plain output frames the reasoning in text, not colours.
	first := "Thinking...\n" + m.reasoning + "\n...done thinking.\n\n" + m.answer + "\n"
	i1 := strings.Index(out, first)
	i2 := strings.Index(out[i1+1:], "\n"+m.answer+"\n")
	if i1 < 0 || i2 < 0 || strings.Count(out, m.answer+"\n") != 3 || strings.Count(out, m.reasoning) != 1 || strings.Contains(out, "\x1b[") {
		t.Errorf("output:\n%s\nwant three answers, the first after its reasoning %q", out, first)
	}
	for _, want := range []string{"thinking on, reasoning hidden", "thinking off, reasoning hidden", "Cleared", "unknown command /bogus"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "never") {
		t.Errorf("input after /bye was read")
	}

	want := []chat.Message{
		{Role: "system", Content: "Count well."},
		{Role: "user", Content: "How many apples?"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
		{Role: "user", Content: "And now\nhow many?"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
		{Role: "user", Content: "Again \nplease"},
		{Role: "assistant", Content: m.answer},
	}
	if diff := cmp.Diff(want, readMessages(t, save1)); diff != "" {
		t.Errorf("/save (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:1], readMessages(t, save2)); diff != "" {
		t.Errorf("/save after /clear (-want +got):\n%s", diff)
	}

	// /stats: the second turn evaluated only what follows the first
	// turn's prompt (the Qwen3 template drops the old reasoning, so the
	// first answer is evaluated again), and the context in use adds up.
	stats := regexp.MustCompile(`last answer: (\d+) tokens, [\d.]+ tokens/s\nprompt: (\d+) tokens evaluated, (\d+) reused from the cache, in \S+\ncontext: (\d+) of 256 tokens used`).FindAllStringSubmatch(out, -1)
	if len(stats) != 2 {
		t.Fatalf("want two /stats reports in:\n%s", out)
	}
	num := func(s string) int { n, _ := strconv.Atoi(s); return n }
	p1 := m.prompt(t, want[:2], true).Tokens
	p2 := m.prompt(t, want[:4], true).Tokens
	gen := m.gen
	got := [][4]int{}
	for _, s := range stats {
		got = append(got, [4]int{num(s[1]), num(s[2]), num(s[3]), num(s[4])})
	}
	wantStats := [][4]int{
		{gen, len(p1), 0, len(p1) + gen},
		{gen, len(p2) - len(p1), len(p1), len(p2) + gen},
	}
	if diff := cmp.Diff(wantStats, got); diff != "" {
		t.Errorf("/stats [generated, evaluated, reused, context] (-want +got):\n%s", diff)
	}
}

// qilin chat on deepseek2 (R1's own architecture) with R1's template shows
// the reasoning, then the answer, and keeps them apart in the history.
func TestChatPipedDeepSeek2(t *testing.T) {
	m := newReasoner(t, "next/syn-deepseek2-f32.gguf", false)
	save := filepath.Join(t.TempDir(), "c.json")
	out, errs := chatRun(t, "How many apples?\n/save "+save+"\n/bye\n", m.path, "--temp", "0", "--ctx", "256")
	if errs != "" {
		t.Errorf("stderr %q", errs)
	}
	if want := "Thinking...\n" + m.reasoning + "\n...done thinking.\n\n" + m.answer + "\n"; !strings.Contains(out, want) {
		t.Errorf("output:\n%s\nwant %q", out, want)
	}
	want := []chat.Message{
		{Role: "user", Content: "How many apples?"},
		{Role: "assistant", Content: m.answer, ReasoningContent: m.reasoning},
	}
	if diff := cmp.Diff(want, readMessages(t, save)); diff != "" {
		t.Errorf("/save (-want +got):\n%s", diff)
	}
}

// The cache kept across turns gives the answers a fresh evaluation of the
// whole conversation gives, both where the new prompt extends what the
// cache holds and where it departs from it early (a new system prompt).
func TestChatReuseMatchesFresh(t *testing.T) {
	model := testdata.Path(t, "models", "stories260K.gguf")
	save := filepath.Join(t.TempDir(), "c.json")
	input := "Once upon a time\n/system You tell stories.\nTell me about the cat.\nAnd the dog?\n/save " + save + "\n/think off\n"
	out, errs := chatRun(t, input, model, "--temp", "0", "--max-tokens", "12")
	if !strings.Contains(errs, "no chat template") {
		t.Errorf("no fallback warning: stderr %q", errs)
	}
	if !strings.Contains(out, "no enable_thinking switch") {
		t.Errorf("/think off on a template without the switch: no note in %q", out)
	}
	msgs := readMessages(t, save)
	if len(msgs) != 5 || msgs[0].Content != "You tell stories." {
		t.Fatalf("conversation %+v\noutput %q", msgs, out)
	}
	e, err := engine.Load(model, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, n := range []int{2, 4} {
		p, err := renderChat(e, msgs[:n], true)
		if err != nil {
			t.Fatal(err)
		}
		toks, err := enginetest.Greedy(e.NewSequence(), e.Tok.IsEOG, p.Tokens, 12)
		if err != nil {
			t.Fatal(err)
		}
		fresh, _ := chat.Parse(e.Tok.Decode(toks), chat.OutputOptions{Reasoning: true})
		if fresh.Content == "" || fresh.Content != msgs[n].Content || !strings.Contains(out, fresh.Content) {
			t.Errorf("answer %d with the cache kept %q, evaluated afresh %q", n/2, msgs[n].Content, fresh.Content)
		}
	}
}

// A conversation longer than the context loses its oldest turns, never the
// system prompt; a message too long for the context is refused.
func TestChatContextOverflow(t *testing.T) {
	m := newReasoner(t, "syn-qwen3-f32.gguf", false)
	save := filepath.Join(t.TempDir(), "c.json")
	long := strings.Repeat("apples and pears ", 150)
	var in []string
	for i := range 6 {
		in = append(in, "Question "+strconv.Itoa(i)+": how many apples are there in the basket on the table?")
	}
	in = append(in, long, "/save "+save)
	out, _ := chatRun(t, strings.Join(in, "\n"), m.path, "--system", "Count well.", "--ctx", "160", "--temp", "0")
	if !strings.Contains(out, "dropped the") {
		t.Errorf("no note about dropped messages:\n%s", out)
	}
	if !strings.Contains(out, "does not fit") {
		t.Errorf("a message longer than the context was not refused:\n%s", out)
	}
	msgs := readMessages(t, save)
	if len(msgs) < 3 || msgs[0].Role != "system" || msgs[len(msgs)-1].Content != m.answer ||
		!strings.HasPrefix(msgs[len(msgs)-2].Content, "Question 5") || msgs[1].Content == in[0] {
		t.Errorf("after overflow: %+v", msgs)
	}
	if p := m.prompt(t, msgs, true); len(p.Tokens) > 160 {
		t.Errorf("kept conversation is %d tokens, over the context", len(p.Tokens))
	}
	if got := strings.Count(out, m.answer+"\n"); got != 6 {
		t.Errorf("%d answers, want 6:\n%s", got, out)
	}
}

func TestChatUsage(t *testing.T) {
	for _, args := range [][]string{
		{"chat", "/nonexistent.gguf"},
		{"chat", "a.gguf", "b.gguf"},
		{"chat", "--max-tokens", "-1", "x.gguf"},
	} {
		_, errs, code := runCLI(t, args...)
		if code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want a failure with a message", args, code, errs)
		}
	}
}
