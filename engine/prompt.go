package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/internal/chatprompt"
	"github.com/qilin-ai/qilin/tokenizer"
)

// ThinkingDefault is the enable_thinking every entry point renders with
// when the caller does not say: on, as the authors of thinking models
// intend (Qwen3's template thinks unless told not to; DeepSeek-R1's always
// does).
const ThinkingDefault = true

// ChatPrompt is a conversation rendered with the model's chat template and
// tokenized for generation.
type ChatPrompt struct {
	Text   string // the rendered prompt
	Tokens []int  // its tokens, BOS included where the model wants one
	// Reasoning is the output's reasoning block, ready for
	// Request.Reasoning: nil when the output holds none (the template
	// writes no <think>, or the prompt already closed the block because
	// thinking is off). Budget is -1 (no bound), or 0 when enable_thinking
	// was false but the template opened the block anyway (DeepSeek-R1's
	// ignores the switch), which then closes at once.
	Reasoning *Reasoning
}

// StartsOpen reports that the prompt itself opened a reasoning block
// (<think> at its end, as DeepSeek-R1's template does), so the output
// starts inside the reasoning.
func (p ChatPrompt) StartsOpen() bool { return p.Reasoning != nil && p.Reasoning.StartsOpen }

// reasoningTags are the tokens of the reasoning tags, as template text
// (their special-token text becomes special tokens).
type reasoningTags struct {
	open, close, closeWith []int
}

func newReasoningTags(tok *tokenizer.Tokenizer) (reasoningTags, error) {
	enc := func(text string) ([]int, error) {
		ids, err := tok.Encode(text, false, true)
		if err != nil || len(ids) == 0 {
			return nil, fmt.Errorf("engine: tokenizing %q: %v", text, err)
		}
		return ids, nil
	}
	var t reasoningTags
	var err error
	if t.open, err = enc(chat.ThinkOpen); err != nil {
		return t, err
	}
	if t.close, err = enc(chat.ThinkClose); err != nil {
		return t, err
	}
	// The close as the model writes it; a tokenizer that merges the tag
	// with the newlines around it gets the bare tag.
	if t.closeWith, err = enc("\n" + chat.ThinkClose + "\n\n"); err != nil || indexSeq(t.closeWith, t.close) < 0 {
		t.closeWith = t.close
	}
	return t, nil
}

// RenderChat renders in with the model's template (see Template) and
// tokenizes the result so that control tokens come only from the template:
// control-token text inside message contents, reasoning, tool calls, tool
// results, tool definitions or template variables stays plain text (a user
// cannot open a system turn by typing <|im_start|>system). BOS and EOS
// strings default to the model's; enable_thinking defaults to
// ThinkingDefault.
func (e *Engine) RenderChat(in chat.Input) (ChatPrompt, error) {
	return e.RenderChatWith(e.tmpl, in)
}

// RenderChatWith is RenderChat with another template than the engine's.
func (e *Engine) RenderChatWith(tmpl *chat.Template, in chat.Input) (ChatPrompt, error) {
	thinking := ThinkingDefault
	if v, ok := in.Vars["enable_thinking"]; ok {
		thinking = truthy(v)
	} else {
		vars := make(map[string]any, len(in.Vars)+1)
		for k, v := range in.Vars {
			vars[k] = v
		}
		vars["enable_thinking"] = ThinkingDefault
		in.Vars = vars
	}
	r, err := chatprompt.Render(tmpl, e.Tok, in)
	if err != nil {
		return ChatPrompt{}, err
	}
	text := r.Text
	p := ChatPrompt{Text: text, Tokens: r.Tokens}
	open := r.ThinkingOpen
	if (open || strings.Contains(tmpl.Source(), chat.ThinkOpen)) && !chat.ReasoningClosed(text) {
		p.Reasoning = &Reasoning{StartsOpen: open, Open: e.tags.open, Close: e.tags.close, CloseWith: e.tags.closeWith, Budget: -1}
		if open && !thinking {
			p.Reasoning.Budget = 0
		}
	}
	return p, nil
}

// truthy reads a template variable as a boolean: false, "false", 0 and
// null are false.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case json.RawMessage:
		s := strings.TrimSpace(string(x))
		return s != "false" && s != "null" && s != "0" && s != `""`
	case string:
		return x != "" && x != "false"
	case int:
		return x != 0
	case float64:
		return x != 0
	}
	return true
}
