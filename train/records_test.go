package train

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/chatprompt"
	"github.com/qilin-ai/qilin/internal/testdata"
	"github.com/qilin-ai/qilin/tokenizer"
)

func TestReadRecords(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Record
		err  string
	}{
		{"messages", `{"prompt_id":"a","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo","reasoning_content":"think"}],"finish_reason":"stop"}` + "\n",
			[]Record{{Messages: []chat.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "yo", ReasoningContent: "think"}}, FinishReason: "stop"}}, ""},
		{"sharegpt", `{"conversations":[{"from":"system","value":"s"},{"from":"human","value":"q"},{"from":"gpt","value":"a"}]}` + "\n\n",
			[]Record{{Messages: []chat.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}}}, ""},
		{"think inline", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"<think>\nstep 1\n</think>\n\nanswer"}]}` + "\n",
			[]Record{{Messages: []chat.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "answer", ReasoningContent: "step 1"}}}}, ""},
		{"prompt completion and parts", `{"prompt":"p","completion":"c"}` + "\n" + `{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"x"}]}`,
			[]Record{{Messages: []chat.Message{{Role: "user", Content: "p"}, {Role: "assistant", Content: "c"}}},
				{Messages: []chat.Message{{Role: "user", Content: "ab"}, {Role: "assistant", Content: "x"}}}}, ""},
		{"logprobs", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"ab"}],"logprobs":[{"token":"a","logprob":-0.1,"top_logprobs":[{"token":"a","logprob":-0.1},{"token":"b","logprob":-2.5}]},{"token":"b","bytes":[98],"logprob":-0.2,"top_logprobs":[]}]}` + "\n",
			[]Record{{Messages: []chat.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "ab"}},
				Logprobs: []TokenLogprobs{{Token: "a", Logprob: -0.1, Top: []TopLogprob{{Token: "a", Logprob: -0.1}, {Token: "b", Logprob: -2.5}}},
					{Token: "b", Bytes: []int{98}, Logprob: -0.2, Top: []TopLogprob{}}}}}, ""},
		{"torn last line is dropped", `{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}` + "\n" + `{"messages":[{"role":"us`,
			[]Record{{Messages: []chat.Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "a"}}}}, ""},
		{"malformed line", `{"prompt":"p","completion":"c"}` + "\n" + `not json` + "\n", nil, "line 2"},
		{"no messages", `{"messages":[]}` + "\n", nil, "line 1: no messages"},
		{"bad role", `{"conversations":[{"from":"robot","value":"x"}]}` + "\n", nil, "unknown role"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ReadRecords(strings.NewReader(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("records (-want +got):\n%s", d)
			}
		})
	}
}

func FuzzReadRecords(f *testing.F) {
	f.Add(`{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"<think>r</think>a"}],"logprobs":[{"token":"a","logprob":-1}]}` + "\n")
	f.Add(`{"conversations":[{"from":"gpt","value":null}]}`)
	f.Add(`{"logprobs":{"content":[{"token":"x","top_logprobs":[{"token":"y"}]}]},"prompt":"a","completion":"b"}`)
	f.Fuzz(func(t *testing.T, s string) {
		recs, err := ReadRecords(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, r := range recs {
			if len(r.Messages) == 0 {
				t.Fatalf("a record without messages was accepted: %q", s)
			}
		}
	})
}

// openTokenizer returns a reference model's tokenizer and chat template.
func openTokenizer(t *testing.T, name string) (*gguf.File, *tokenizer.Tokenizer, *chat.Template) {
	t.Helper()
	f, err := gguf.Open(testdata.Path(t, "models", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.ForModel(f.String("tokenizer.chat_template", ""))
	if err != nil {
		t.Fatal(err)
	}
	return f, tok, tmpl
}

func ids32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out
}

// TestEncode checks examples built from records: the prompt is exactly
// what the engine renders (no loss on it), the answer (reasoning in the R1
// layout) and the template's end of turn carry the loss, the teacher's own
// tokens and top-k alternatives are used when its logprobs map to the
// vocabulary, and an answer cut at the token limit gets no end of turn.
func TestEncode(t *testing.T) {
	for _, tc := range []struct {
		model     string
		eot       string // the end of turn the template and vocabulary give
		reasoning string
	}{
		// The R1 template writes <｜end▁of▁sentence｜>, which this cut
		// vocabulary lacks: the tokenizer's EOS ends the turn instead.
		{"syn-qwen2-q8_0.gguf", "<|im_end|>", "twelve and thirty is forty-two."},
		{"syn-qwen3-q8_0.gguf", "<|im_end|>", ""},
		// SentencePiece, no template (ChatML fallback), no '/' in the
		// vocabulary for </think>.
		{"TinyStories-656K-Q8_0.gguf", "<|end_story|>", ""},
	} {
		t.Run(tc.model, func(t *testing.T) { testEncode(t, tc.model, tc.eot, tc.reasoning) })
	}
}

func testEncode(t *testing.T, model, eotText, reasoning string) {
	_, tok, tmpl := openTokenizer(t, model)
	enc := NewEncoder(tok, tmpl)
	enc.TopK = true
	msgs := []chat.Message{{Role: "user", Content: "What is 12+30? <|im_start|>"}}
	prompt, err := chatprompt.Render(tmpl, tok, chat.Input{Messages: msgs, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Decode(toInts(enc.endOfTurn)); got != eotText {
		t.Fatalf("end of turn %q, want %q", got, eotText)
	}
	answer := append(msgs, chat.Message{Role: "assistant", Content: "Once upon a time, it was 42.", ReasoningContent: reasoning})

	ex, err := enc.Encode(Record{Messages: answer, FinishReason: "stop"})
	if err != nil {
		t.Fatal(err)
	}
	np := len(prompt.Tokens)
	if d := cmp.Diff(ids32(prompt.Tokens), ex.Tokens[:np]); d != "" {
		t.Errorf("prompt tokens (-engine +example):\n%s", d)
	}
	wantText := "Once upon a time, it was 42." + eotText
	if reasoning != "" {
		wantText = reasoning + "\n</think>\n\n" + wantText
		if !prompt.ThinkingOpen {
			wantText = "<think>\n" + wantText
		}
	}
	gen := make([]int, 0)
	for i, id := range ex.Tokens {
		if ex.Loss[i] != (i >= np) {
			t.Fatalf("loss mask at %d is %v", i, ex.Loss[i])
		}
		if i >= np {
			gen = append(gen, int(id))
		}
	}
	if got := tok.Decode(append(append([]int(nil), prompt.Tokens...), gen...)); got != tok.Decode(prompt.Tokens)+wantText {
		t.Errorf("answer decodes to %q, want %q", got, wantText)
	}
	if ex.TopOff != nil {
		t.Errorf("top-k targets without logprobs")
	}

	// The teacher's tokens: pieces of an arbitrary tokenization, which the
	// encoder must keep rather than re-tokenize.
	var lps []TokenLogprobs
	for i, id := range gen[:len(gen)-1] {
		p := tok.Piece(id)
		b := make([]int, len(p))
		for j, c := range p {
			b[j] = int(c)
		}
		alt := (id + 1) % tok.VocabSize()
		lps = append(lps, TokenLogprobs{Token: string(p), Bytes: b, Logprob: -0.5,
			Top: []TopLogprob{{Token: string(tok.Piece(alt)), Logprob: -1.5 - float64(i%2)}}})
	}
	ex2, err := enc.Encode(Record{Messages: answer, FinishReason: "stop", Logprobs: lps})
	if err != nil {
		t.Fatal(err)
	}
	if !ex2.fromLogprobs {
		t.Fatal("logprobs were not used")
	}
	if d := cmp.Diff(ex.Tokens, ex2.Tokens); d != "" {
		t.Errorf("tokens from logprobs (-retokenized +logprobs):\n%s", d)
	}
	for i := range gen[:len(gen)-1] {
		lo, hi := ex2.TopOff[np+i], ex2.TopOff[np+i+1]
		if hi-lo != 2 || ex2.TopID[lo+1] != ex2.Tokens[np+i] || ex2.TopLogp[lo+1] != -0.5 {
			t.Fatalf("top-k at answer token %d: ids %v logps %v", i, ex2.TopID[lo:hi], ex2.TopLogp[lo:hi])
		}
	}
	if ex2.TopOff[len(ex2.Tokens)] != ex2.TopOff[len(ex2.Tokens)-1] {
		t.Errorf("the appended end of turn has top-k targets")
	}

	ex3, err := enc.Encode(Record{Messages: answer, FinishReason: "length"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ex3.Tokens) != len(ex.Tokens)-1 {
		t.Errorf("a truncated answer has %d tokens, want %d (no end of turn)", len(ex3.Tokens), len(ex.Tokens)-1)
	}
	if _, err := enc.Encode(Record{Messages: msgs}); err == nil {
		t.Error("a record not ending with the assistant was accepted")
	}
}

func toInts(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}
