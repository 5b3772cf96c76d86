package engine

import (
	"fmt"
	"strings"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/gguf"
)

// LoadTemplate is the one place a chat template is loaded, with one
// failure policy. With src empty it returns f's own template
// (tokenizer.chat_template); a model without one, or whose template does
// not compile, gets chat.Fallback (ChatML), and warning says so and why.
// A src given by the user (a --chat-template-file override) replaces the
// model's and must compile: its failure is an error.
func LoadTemplate(f *gguf.File, src string) (tmpl *chat.Template, warning string, err error) {
	if src != "" {
		if tmpl, err = chat.NewTemplate(src); err != nil {
			return nil, "", err
		}
		return tmpl, "", nil
	}
	own := f.String("tokenizer.chat_template", "")
	tmpl, err = chat.ForModel(own)
	switch {
	case err != nil:
		warning = fmt.Sprintf("the model's chat template does not compile (%v); using the generic %s template, which may not match how the model was trained", err, chat.DefaultTemplateName)
	case tmpl.IsFallback():
		warning = fmt.Sprintf("the model has no chat template (tokenizer.chat_template); using the generic %s template, which may not match how the model was trained", chat.DefaultTemplateName)
	}
	if err != nil {
		if tmpl, err = chat.ForModel(""); err != nil {
			return nil, "", err // the built-in fallback always compiles
		}
	}
	return tmpl, warning, nil
}

// Template returns the engine's chat template: Options.ChatTemplate when
// set, else the model's, else the ChatML fallback (see LoadTemplate;
// TemplateWarning says when it is not the model's own). Load fails when
// Options.ChatTemplate does not compile, so this never does.
func (e *Engine) Template() *chat.Template { return e.tmpl }

// TemplateWarning is LoadTemplate's warning for the engine's template ("":
// the model's own or the user's).
func (e *Engine) TemplateWarning() string { return e.tmplWarning }

// HasTemplate reports whether the chat template is the model's own or the
// user's, not the fallback: a model without one is a base or story model,
// whose prompts are completed as they are.
func (e *Engine) HasTemplate() bool { return !e.tmpl.IsFallback() }

// CanThink reports whether the chat template writes reasoning blocks
// (<think>): the model can think, and enable_thinking (or the template's
// own rule) decides whether it does.
func (e *Engine) CanThink() bool { return strings.Contains(e.tmpl.Source(), chat.ThinkOpen) }

// ThinkingSwitch reports whether the template reads enable_thinking.
func (e *Engine) ThinkingSwitch() bool { return strings.Contains(e.tmpl.Source(), "enable_thinking") }
