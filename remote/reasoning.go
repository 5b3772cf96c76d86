package remote

import (
	"strings"

	"github.com/qilin-ai/qilin/chat"
)

// finishReasoning fills resp's reasoning from an inline <think> block when
// the server sent no reasoning field, and sets ReasoningClosed.
func finishReasoning(resp *ChatResponse) {
	if resp.Reasoning != "" {
		resp.ReasoningClosed = strings.TrimSpace(resp.Content) != ""
		return
	}
	resp.Reasoning, resp.Content, resp.ReasoningClosed = SplitThink(resp.Content)
}

// SplitThink splits text that may hold its reasoning inline: a leading
// <think>…</think> block, or text up to a </think> that no <think> opened
// (the chat template opened the block, as DeepSeek-R1's does). The
// reasoning is trimmed of surrounding whitespace and the whitespace before
// the answer is dropped, as DeepSeek's API does. closed is false when there
// is no reasoning, or when the block never closed (then all of text after
// the open tag is reasoning and answer is empty).
func SplitThink(text string) (reasoning, answer string, closed bool) {
	trimmed := strings.TrimLeft(text, " \t\r\n")
	if rest, ok := strings.CutPrefix(trimmed, chat.ThinkOpen); ok {
		r, a, found := strings.Cut(rest, chat.ThinkClose)
		if !found {
			return strings.TrimSpace(rest), "", false
		}
		return strings.TrimSpace(r), strings.TrimLeft(a, " \t\r\n"), true
	}
	if r, a, found := strings.Cut(text, chat.ThinkClose); found && !strings.Contains(r, chat.ThinkOpen) {
		return strings.TrimSpace(r), strings.TrimLeft(a, " \t\r\n"), true
	}
	return "", text, false
}
