package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qilin-ai/qilin/chat"
)

// RenderChatWith is RenderChat with a template other than the model's (a
// server's --chat-template override). It also keeps control-token text in
// string and JSON template variables (chat_template_kwargs, which clients
// supply) as plain text.
func (e *Engine) RenderChatWith(tmpl *chat.Template, in chat.Input) (ChatPrompt, error) {
	if in.BOS == "" && e.Tok.BOS() >= 0 {
		in.BOS = e.Tok.TokenText(e.Tok.BOS())
	}
	if in.EOS == "" && e.Tok.EOS() >= 0 {
		in.EOS = e.Tok.TokenText(e.Tok.EOS())
	}
	in, err := markInput(in, e.Tok)
	if err != nil {
		return ChatPrompt{}, err
	}
	if in.Vars != nil {
		vars := make(map[string]any, len(in.Vars))
		for k, v := range in.Vars {
			switch x := v.(type) {
			case string:
				v = markString(x, e.Tok)
			case json.RawMessage:
				if v, err = markJSON(x, func(s string) string { return markString(s, e.Tok) }); err != nil {
					return ChatPrompt{}, fmt.Errorf("engine: variable %s: %w", k, err)
				}
			}
			vars[k] = v
		}
		in.Vars = vars
	}
	marked, err := tmpl.Render(in)
	if err != nil {
		return ChatPrompt{}, err
	}
	text, plain := unmark(marked)
	addBOS := e.Tok.AddBOS() && (e.Tok.BOS() < 0 || !strings.HasPrefix(text, e.Tok.TokenText(e.Tok.BOS())))
	toks, err := e.Tok.EncodeTemplated(text, addBOS, plain)
	if err != nil {
		return ChatPrompt{}, err
	}
	return ChatPrompt{Text: text, Tokens: toks, ThinkingOpen: chat.ReasoningStartsOpen(text)}, nil
}
