package main

import (
	"context"
	"fmt"
	"io"

	"github.com/qilin-ai/qilin/chat"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/remote"
	"github.com/qilin-ai/qilin/tokenizer"
	"github.com/qilin-ai/qilin/watermark"
)

// testRemoteSuspect is the closed-model radioactivity test: the suspect
// behind an API answers our prompts (from dataDir, else one story prompt)
// at temperature 1 until budget tokens, and its answers, retokenized with
// the tokenizer of model, are tested as texts (every token scored once
// against the window before it; pairs of the prompt skipped; with data,
// only its windows).
func testRemoteSuspect(ctx context.Context, ep remote.Endpoint, keyEnv, model string, keys []watermark.Key, dataDir string, budget, maxLen int, seed uint64, threshold float64, stderr io.Writer) (watermark.RadioResult, watermark.ReadingInput, error) {
	var in watermark.ReadingInput
	tok, closeTok, err := openTokenizer(model)
	if err != nil {
		return watermark.RadioResult{}, in, err
	}
	defer closeTok()
	c, err := remote.FromEnv(ep, keyEnv)
	if err != nil {
		return watermark.RadioResult{}, in, err
	}
	prompts := [][]chat.Message{{{Role: "user", Content: "Tell me a story."}}}
	if dataDir != "" {
		if prompts, in.Data, err = readMarkedConversations(dataDir, tok); err != nil {
			return watermark.RadioResult{}, in, err
		}
		if len(prompts) == 0 {
			prompts = [][]chat.Message{{{Role: "user", Content: "Tell me a story."}}}
		}
	}
	bar := termui.NewCountBar(stderr, "suspect writing", int64(budget), "tokens")
	defer bar.Finish()
	temp := 1.0
	written := 0
	for i := 0; written < budget; i++ {
		msgs := prompts[i%len(prompts)]
		req := remote.ChatRequest{MaxTokens: maxLen, Temperature: &temp}
		s := int64(seed) + int64(i)
		req.Seed = &s
		var promptText string
		for _, m := range msgs {
			req.Messages = append(req.Messages, remote.Message{Role: m.Role, Content: m.Content})
			promptText += m.Content + "\n"
		}
		resp, err := c.Chat(ctx, req)
		if err != nil {
			return watermark.RadioResult{}, in, err
		}
		answer := resp.Content
		if resp.Reasoning != "" {
			answer = resp.Reasoning + "\n" + answer
		}
		p, err := tok.Encode(promptText, false, false)
		if err != nil {
			return watermark.RadioResult{}, in, err
		}
		a, err := tok.Encode(answer, false, false)
		if err != nil {
			return watermark.RadioResult{}, in, err
		}
		if len(a) == 0 && i >= len(prompts) && written == 0 {
			return watermark.RadioResult{}, in, fmt.Errorf("%s answers nothing to our prompts", ep.Title)
		}
		in.Texts = append(in.Texts, append(p, a...))
		in.Start = append(in.Start, len(p))
		written += len(a)
		bar.Set(int64(min(written, budget)))
	}
	return watermark.Radioactive(in, keys, threshold), in, nil
}

// readMarkedConversations is readMarkedData for a suspect behind an API: the
// prompts as conversations, the outputs as token ids of tok.
func readMarkedConversations(dir string, tok *tokenizer.Tokenizer) ([][]chat.Message, [][]int, error) {
	recs, err := readMarkedRecords(dir)
	if err != nil {
		return nil, nil, err
	}
	var prompts [][]chat.Message
	var outputs [][]int
	seen := map[string]bool{}
	x := newPieceIndex(tok)
	for _, r := range recs {
		ids, _, err := outputIDs(r, tok, x)
		if err != nil {
			return nil, nil, err
		}
		outputs = append(outputs, ids)
		if len(r.prompt) > 0 && !seen[r.key] {
			seen[r.key] = true
			prompts = append(prompts, r.prompt)
		}
	}
	return prompts, outputs, nil
}
