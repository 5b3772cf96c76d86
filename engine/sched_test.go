package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/internal/enginetest"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/sample"
	"github.com/qilin-ai/qilin/watermark"
)

func loadTest(t testing.TB, name string, ctx int) *Engine {
	t.Helper()
	e, err := Load(testdata.Path(t, "models", name), Options{Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func newSched(t testing.TB, e *Engine, opts SchedOptions) *Scheduler {
	t.Helper()
	s := e.NewScheduler(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

// alone decodes greedily by hand with a plain Sequence: the reference
// that batched output must equal.
func alone(t testing.TB, e *Engine, prompt []int, maxTokens int) []int {
	t.Helper()
	out, err := enginetest.Greedy(e.NewSequence(), e.Tok.IsEOG, prompt, maxTokens)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// script is a Processor that writes toks, one forced token per position
// (so that other processors act in between), then ends the output.
func script(toks ...int) Processor {
	i := 0
	return ProcessorFunc(func(st *Step) error {
		if i < len(toks) {
			st.Force(toks[i])
			i++
			return nil
		}
		st.Force(st.EOG()[0])
		return nil
	})
}

// collect reads a stream to its end.
func collect(st *Stream) (toks []int, text string, evs []Event, res Result) {
	var sb strings.Builder
	for {
		ev, ok := st.Recv()
		if !ok {
			return toks, sb.String(), evs, st.Result()
		}
		if ev.Token >= 0 {
			toks = append(toks, ev.Token)
		}
		sb.WriteString(ev.Text)
		evs = append(evs, ev)
	}
}

func encode(t testing.TB, e *Engine, s string) []int {
	t.Helper()
	ids, err := e.Tok.Encode(s, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

var schedPrompts = []string{
	"Once upon a time",
	"The quick brown fox jumps over the lazy dog.",
	"Lily had a red ball. She",
	"12+30=42, so the answer is",
	"One day, a little girl named Sue went to the park with her mom and",
	"Tom",
}

// TestSchedGreedyMatchesAlone runs several prompts together, joining at
// different steps and with a prefill chunk smaller than the prompts, and
// checks every output against the same prompt decoded alone.
func TestSchedGreedyMatchesAlone(t *testing.T) {
	for _, name := range []string{"stories260K.gguf", "syn-qwen2-q8_0.gguf", "syn-qwen3-q8_0.gguf", "syn-qwen2-q4_k_m.gguf"} {
		t.Run(name, func(t *testing.T) { checkGreedyMatchesAlone(t, loadTest(t, name, 256), 24) })
	}
}

// checkGreedyMatchesAlone runs schedPrompts on four slots, joining at
// different steps with 5-token prefill chunks, and checks each greedy
// output of maxTok tokens against the prompt decoded alone.
func checkGreedyMatchesAlone(t *testing.T, e *Engine, maxTok int) {
	want := make([][]int, len(schedPrompts))
	prompts := make([][]int, len(schedPrompts))
	for i, p := range schedPrompts {
		prompts[i] = encode(t, e, p)
		want[i] = alone(t, e, prompts[i], maxTok)
	}
	s := newSched(t, e, SchedOptions{Slots: 4, PrefillChunk: 5})
	got := make([][]int, len(prompts))
	var wg sync.WaitGroup
	for i := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * time.Millisecond)
			st, err := s.Submit(context.Background(), Request{Prompt: prompts[i], MaxTokens: maxTok})
			if err != nil {
				t.Error(err)
				return
			}
			got[i], _, _, _ = collect(st)
		}()
	}
	wg.Wait()
	for i := range prompts {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			t.Errorf("prompt %q: batched output differs from alone (-want +got):\n%s", schedPrompts[i], diff)
		}
	}
	if st := s.Stats(); st.Steps >= int64(len(prompts)*maxTok) {
		t.Errorf("%d steps for %d requests of %d tokens: requests were not batched", st.Steps, len(prompts), maxTok)
	}
}

// TestSchedSeedMatchesAlone: a seeded request draws the same tokens alone
// in a one-slot scheduler (as the CLI runs) and among others (as the
// server runs), with and without a reused prefix.
func TestSchedSeedMatchesAlone(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	p := sample.Defaults()
	p.Seed = 1234
	req := func(i int) Request {
		return Request{Prompt: encode(t, e, schedPrompts[i]), MaxTokens: 16, Sample: p}
	}
	one := newSched(t, e, SchedOptions{Slots: 1})
	want := make([][]int, 4)
	for i := range want {
		want[i], _, _, _ = collect(mustSubmit(t, one, req(i)))
	}
	one.Close(context.Background())
	many := newSched(t, e, SchedOptions{Slots: 4, PrefillChunk: 3})
	for round := range 2 { // the second round reuses the cached prompts
		var streams []*Stream
		for i := range want {
			streams = append(streams, mustSubmit(t, many, req(i)))
		}
		for i, st := range streams {
			got, _, _, _ := collect(st)
			if diff := cmp.Diff(want[i], got); diff != "" {
				t.Errorf("round %d, prompt %q: seeded output differs batched (-alone +batched):\n%s", round, schedPrompts[i], diff)
			}
		}
	}
}

func TestSchedPrefixCache(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	base := encode(t, e, "Once upon a time, there was a little dog named Max. Max liked to")
	run := func(prompt []int) ([]int, Result) {
		st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 8})
		if err != nil {
			t.Fatal(err)
		}
		toks, _, _, res := collect(st)
		return toks, res
	}
	_, res := run(base)
	if res.CachedTokens != 0 {
		t.Errorf("first request: %d cached tokens, want 0", res.CachedTokens)
	}
	longer := append(append([]int{}, base...), encode(t, e, " play")[1:]...)
	toks, res := run(longer)
	if res.CachedTokens != len(base) {
		t.Errorf("longer prompt: %d cached tokens, want %d", res.CachedTokens, len(base))
	}
	if diff := cmp.Diff(alone(t, e, longer, 8), toks); diff != "" {
		t.Errorf("output with reused prefix differs (-want +got):\n%s", diff)
	}
	// The same prompt again: everything but the last token is reused.
	_, res = run(longer)
	if res.CachedTokens != len(longer)-1 {
		t.Errorf("repeated prompt: %d cached tokens, want %d", res.CachedTokens, len(longer)-1)
	}
}

// TestSchedPrefixCopy: a request sharing a prefix with a running one copies
// that slot's keys and values instead of recomputing them.
func TestSchedPrefixCopy(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	base := encode(t, e, "Once upon a time, there was a little dog named Max.")
	st1, err := s.Submit(context.Background(), Request{Prompt: base, MaxTokens: 200})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st1.Recv(); !ok { // its prompt is in the cache now
		t.Fatal("first stream ended early")
	}
	second := append(append([]int{}, base...), encode(t, e, " He")[1:]...)
	st2, err := s.Submit(context.Background(), Request{Prompt: second, MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	toks, _, _, res := collect(st2)
	st1.Cancel()
	collect(st1)
	if res.CachedTokens != len(base) {
		t.Errorf("%d cached tokens, want %d copied from the busy slot", res.CachedTokens, len(base))
	}
	if diff := cmp.Diff(alone(t, e, second, 6), toks); diff != "" {
		t.Errorf("output with copied prefix differs (-want +got):\n%s", diff)
	}
}

func TestSchedStopAndLength(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	prompt := encode(t, e, "Once upon a time")
	ref := alone(t, e, prompt, 40)
	refText := e.Tok.Decode(ref)

	st, _ := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 7})
	toks, text, _, res := collect(st)
	if res.Reason != StopLength || len(toks) != 7 || res.CompletionTokens != 7 {
		t.Errorf("max tokens 7: reason %q, %d tokens (%d counted)", res.Reason, len(toks), res.CompletionTokens)
	}
	if text != e.Tok.Decode(ref[:7]) {
		t.Errorf("text %q, want %q", text, e.Tok.Decode(ref[:7]))
	}

	// A stop string in the middle of the reference output, spanning tokens.
	cut := len(e.Tok.Decode(ref[:10]))
	stop := refText[cut-3 : cut+4]
	first := strings.Index(refText, stop)
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 40, Stop: []string{"never appears", stop}})
	_, text, _, res = collect(st)
	if res.Reason != StopString || res.StopString != stop {
		t.Errorf("stop %q: reason %q, stop string %q", stop, res.Reason, res.StopString)
	}
	if text != refText[:first] {
		t.Errorf("stop %q: text %q, want %q", stop, text, refText[:first])
	}
}

func TestSchedCancelFreesSlot(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 512)
	s := newSched(t, e, SchedOptions{Slots: 1, MaxQueue: 1})
	prompt := encode(t, e, "Once upon a time")
	ctx, cancel := context.WithCancel(context.Background())
	st, err := s.Submit(ctx, Request{Prompt: prompt})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Recv(); !ok {
		t.Fatal("stream ended before its first token")
	}
	// The slot is busy, one may wait, a third is refused.
	waiter, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 3}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third request: err %v, want ErrQueueFull", err)
	}
	cancel()
	_, _, _, res := collect(st)
	if res.Reason != StopCancelled {
		t.Errorf("cancelled request ended with %q", res.Reason)
	}
	toks, _, _, res := collect(waiter)
	if res.Reason != StopLength || len(toks) != 3 {
		t.Errorf("queued request after the cancel: %q with %d tokens", res.Reason, len(toks))
	}
	if st := s.Stats(); st.Running != 0 || st.Waiting != 0 {
		t.Errorf("after all requests: %d running, %d waiting", st.Running, st.Waiting)
	}
}

func TestSchedRejects(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 32)
	s := newSched(t, e, SchedOptions{Slots: 1})
	long := make([]int, 32)
	for i := range long {
		long[i] = 100
	}
	for _, tc := range []struct {
		req  Request
		want error
	}{
		{Request{Prompt: long}, ErrPromptTooLong},
		{Request{}, ErrEmptyPrompt},
		{Request{Prompt: []int{1, 1 << 20}}, ErrInvalidRequest},
		{Request{Prompt: []int{1, -1}}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, MaxTokens: -5}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, Sample: sample.Params{Temperature: -1}}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, Sample: sample.Params{TopP: 5}}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, Processors: []Processor{nil}}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, Reasoning: &Reasoning{Budget: 3}}, ErrInvalidRequest},
		{Request{Prompt: []int{1}, Reasoning: &Reasoning{Open: []int{5}, Close: []int{6}, CloseWith: []int{7}}}, ErrInvalidRequest},
	} {
		if _, err := s.Submit(context.Background(), tc.req); !errors.Is(err, tc.want) {
			t.Errorf("%+v: err %v, want %v", tc.req, err, tc.want)
		}
	}
	// A prompt one short of the context: one token fills the last
	// position, and one more is sampled from it.
	st, err := s.Submit(context.Background(), Request{Prompt: long[:31]})
	if err != nil {
		t.Fatal(err)
	}
	toks, _, _, res := collect(st)
	if res.Reason != StopLength || len(toks) != 2 {
		t.Errorf("prompt filling the context: %q with %d tokens", res.Reason, len(toks))
	}
}

func TestSchedScriptAndBudget(t *testing.T) {
	e := loadTest(t, "syn-qwen2-q8_0.gguf", 256)
	s := newSched(t, e, SchedOptions{Slots: 2})
	prompt := encode(t, e, "Think:")
	think, _ := e.Tok.SpecialID("<think>")
	endThink, _ := e.Tok.SpecialID("</think>")
	toks := []int{think, 100, 200, 300, endThink, 400}
	st, _ := s.Submit(context.Background(), Request{Prompt: prompt, Processors: []Processor{script(toks...)}, Logprobs: true, TopLogprobs: 3})
	got, _, evs, res := collect(st)
	if diff := cmp.Diff(toks, got); diff != "" || res.Reason != StopEOG {
		t.Errorf("script: reason %q (-want +got):\n%s", res.Reason, diff)
	}
	for i, ev := range evs {
		if ev.Token >= 0 && (!ev.Forced || len(ev.Top) != 3 || ev.Logprob > 0) {
			t.Errorf("event %d: forced %v, %d top logprobs, logprob %v", i, ev.Forced, len(ev.Top), ev.Logprob)
		}
	}
	tags := func(startsOpen bool, budget int) *Reasoning {
		return &Reasoning{StartsOpen: startsOpen, Open: []int{think}, Close: []int{endThink}, CloseWith: []int{endThink, 198}, Budget: budget}
	}
	// No budget: the block is followed and counted, tags included.
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, Processors: []Processor{script(toks...)}, Reasoning: tags(false, -1)})
	if got, _, _, res = collect(st); res.ReasoningTokens != 5 || !cmp.Equal(got, toks) {
		t.Errorf("no budget: tokens %v, %d reasoning tokens, want %v and 5", got, res.ReasoningTokens, toks)
	}

	// Budget of 2 reasoning tokens, open from the prompt: two sampled
	// tokens (any but the close), then the forced close sequence.
	closeSeq := []int{endThink, 198}
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 8, Reasoning: tags(true, 2)})
	got, _, evs, res = collect(st)
	if len(got) < 4 || !cmp.Equal(got[2:4], closeSeq) || !evs[2].Forced || evs[0].Forced {
		t.Errorf("budget 2: tokens %v, want the close %v at 2..3", got, closeSeq)
	}
	if res.ReasoningTokens != 3 {
		t.Errorf("budget 2: %d reasoning tokens, want 3 (two and the closing tag)", res.ReasoningTokens)
	}
	// Budget 0: the answer starts at once.
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 4, Reasoning: tags(true, 0)})
	got, _, _, _ = collect(st)
	if len(got) < 2 || !cmp.Equal(got[:2], closeSeq) {
		t.Errorf("budget 0: tokens %v, want the close first", got)
	}
	// Not open from the prompt: counting starts after <think>.
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, Processors: []Processor{script(think, 101, 102, 103, 104)},
		Reasoning: tags(false, 1)})
	got, _, _, _ = collect(st)
	if want := []int{think, 101, endThink, 198, 102, 103, 104}; !cmp.Equal(got, want) {
		t.Errorf("budget 1 after <think>: tokens %v, want %v", got, want)
	}
	// An output that does not open with <think> has no reasoning block.
	st, _ = s.Submit(context.Background(), Request{Prompt: prompt, Processors: []Processor{script(100, think, 101, 102)},
		Reasoning: tags(false, 0)})
	got, _, _, res = collect(st)
	if want := []int{100, think, 101, 102}; !cmp.Equal(got, want) || res.ReasoningTokens != 0 {
		t.Errorf("<think> after the start: tokens %v (%d reasoning), want %v untouched", got, res.ReasoningTokens, want)
	}
}

func TestSchedCloseDrains(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 256)
	s := e.NewScheduler(SchedOptions{Slots: 2})
	prompt := encode(t, e, "Once upon a time")
	var streams []*Stream
	for range 3 {
		st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 10})
		if err != nil {
			t.Fatal(err)
		}
		streams = append(streams, st)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, st := range streams {
		if toks, _, _, res := collect(st); res.Reason != StopLength || len(toks) != 10 {
			t.Errorf("stream %d after drain: %q with %d tokens", i, res.Reason, len(toks))
		}
	}
	if _, err := s.Submit(context.Background(), Request{Prompt: prompt}); !errors.Is(err, ErrClosed) {
		t.Errorf("submit after Close: %v, want ErrClosed", err)
	}

	// A deadline cancels what is still running.
	s = e.NewScheduler(SchedOptions{Slots: 1})
	st, _ := s.Submit(context.Background(), Request{Prompt: prompt})
	st.Recv()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close past its deadline: %v", err)
	}
	if _, _, _, res := collect(st); res.Reason != StopCancelled {
		t.Errorf("request cut by the deadline ended with %q", res.Reason)
	}
}

// TestSchedAllocs bounds the allocations per generated token of the whole
// path: step, processors, sampling, decoding, stream delivery.
func TestSchedAllocs(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 512)
	s := newSched(t, e, SchedOptions{Slots: 2})
	prompt := encode(t, e, "Once upon a time")
	for _, tc := range []struct {
		name  string
		procs func() []Processor
	}{
		{"plain", func() []Processor { return nil }},
		{"bias and drawer", func() []Processor { return []Processor{biasProc{tok: 5, by: 0.5}, &leastLikely{}} }},
		{"gumbel watermark", func() []Processor { return []Processor{Watermark(testWatermarkKey(t, watermark.Gumbel, 2))} }},
		{"redgreen watermark", func() []Processor { return []Processor{Watermark(testWatermarkKey(t, watermark.RedGreen, 2))} }},
	} {
		mallocs := func(n int) uint64 {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			st, _ := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: n,
				Sample: sample.Params{Temperature: 0.8, Seed: 1}, Processors: tc.procs()})
			for {
				if _, ok := st.Recv(); !ok {
					break
				}
			}
			runtime.ReadMemStats(&after)
			return after.Mallocs - before.Mallocs
		}
		mallocs(8) // warm up
		short, long := mallocs(20), mallocs(120)
		perToken := float64(long-short) / 100
		t.Logf("%s: %.2f allocations per generated token", tc.name, perToken)
		// A token's text is a new string; everything else is reused.
		if perToken > 2 {
			t.Errorf("%s: %.2f allocations per generated token, want <= 2", tc.name, perToken)
		}
	}
}

func ExampleScheduler() {
	e, err := Load("model.gguf", Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	s := e.NewScheduler(SchedOptions{Slots: 4})
	defer s.Close(context.Background())
	prompt, _ := e.Tok.Encode("Once upon a time", true, false)
	st, err := s.Submit(context.Background(), Request{Prompt: prompt, MaxTokens: 32})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev, ok := st.Recv(); ok; ev, ok = st.Recv() {
		fmt.Print(ev.Text)
	}
	fmt.Println(st.Result().Reason)
}

// TestSchedChunkedPrefill: while a stream decodes, a long prompt is
// evaluated a chunk per step, so the stream gets a token every step.
func TestSchedChunkedPrefill(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 512)
	s := newSched(t, e, SchedOptions{Slots: 2, PrefillChunk: 16})
	running, _ := s.Submit(context.Background(), Request{Prompt: encode(t, e, "Once upon a time")})
	running.Recv()
	long := encode(t, e, strings.Repeat("The little dog ran to the park and played with a ball. ", 20))
	before := s.Stats().Steps
	st, err := s.Submit(context.Background(), Request{Prompt: long, MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	collect(st)
	steps := s.Stats().Steps - before
	running.Cancel()
	_, _, _, res := collect(running)
	if want := int64((len(long) + 15) / 16); steps < want {
		t.Errorf("a %d-token prompt took %d steps beside a running stream, want >= %d (chunks of 16)", len(long), steps, want)
	}
	if int64(res.CompletionTokens) < steps-2 {
		t.Errorf("the running stream got %d tokens during %d steps", res.CompletionTokens, steps)
	}
	// Alone (nothing cached), the prompt goes in idle-sized chunks.
	alone := newSched(t, e, SchedOptions{Slots: 2, PrefillChunk: 16, NoPrefixCache: true})
	st, _ = alone.Submit(context.Background(), Request{Prompt: long, MaxTokens: 1})
	collect(st)
	if steps, want := alone.Stats().Steps, int64((len(long)+idleChunk-1)/idleChunk); steps != want {
		t.Errorf("alone, %d steps for %d prompt tokens, want %d", steps, len(long), want)
	}
}

// TestControlTokensNotRendered checks that a control token the model
// writes (here a forced BOS) is kept as a token but renders as no text, as
// llama.cpp renders pieces with special=false, while ordinary tokens around
// it render as usual.
func TestControlTokensNotRendered(t *testing.T) {
	e := loadTest(t, "stories260K.gguf", 64)
	bos := e.Tok.BOS()
	words := encode(t, e, "Once upon")[1:]
	toks := append([]int{bos}, words...)
	s := newSched(t, e, SchedOptions{Slots: 1})
	st := mustSubmit(t, s, Request{Prompt: encode(t, e, "Tom"), Processors: []Processor{script(toks...)}})
	got, text, _, _ := collect(st)
	if len(got) < len(toks) || got[0] != bos {
		t.Fatalf("tokens %v, want %v first", got, toks)
	}
	if want := e.Tok.Decode(words); text != want {
		t.Errorf("text %q, want %q (the control token %q hidden)", text, want, e.Tok.Piece(bos))
	}
}
