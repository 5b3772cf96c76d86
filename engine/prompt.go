package engine

import (
	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/internal/chatprompt"
)

// ChatPrompt is a conversation rendered with the model's chat template and
// tokenized for generation.
type ChatPrompt = chatprompt.Prompt

// Template returns the model's chat template, or the ChatML fallback when
// the file has none (Template().IsFallback() tells; callers should warn).
func (e *Engine) Template() (*chat.Template, error) {
	e.tmplOnce.Do(func() {
		e.tmpl, e.tmplErr = chat.ForModel(e.File.String("tokenizer.chat_template", ""))
	})
	return e.tmpl, e.tmplErr
}

// RenderChat renders in with the model's template and tokenizes the result
// so that control tokens come only from the template: control-token text
// inside message contents, reasoning, tool calls, tool results, tool
// definitions or template variables stays plain text (a user cannot open a
// system turn by typing <|im_start|>system). BOS and EOS strings default to
// the model's.
func (e *Engine) RenderChat(in chat.Input) (ChatPrompt, error) {
	tmpl, err := e.Template()
	if err != nil {
		return ChatPrompt{}, err
	}
	return e.RenderChatWith(tmpl, in)
}

// RenderChatWith is RenderChat with a template other than the model's (a
// server's --chat-template override).
func (e *Engine) RenderChatWith(tmpl *chat.Template, in chat.Input) (ChatPrompt, error) {
	return chatprompt.Render(tmpl, e.Tok, in)
}
