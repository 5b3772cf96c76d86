package server

import "time"

// timings is llama.cpp's timing extension of OpenAI responses (its server
// sends an object of the same name and fields), sent beside usage so that
// a client can show speeds measured where the model runs; OpenAI clients
// ignore it.
type timings struct {
	// PromptN counts the prompt tokens evaluated (cached ones excluded);
	// PromptMS is the longest time from a prompt's admission to its first
	// generated token (prefill and the first draw).
	PromptN         int     `json:"prompt_n"`
	PromptMS        float64 `json:"prompt_ms"`
	PromptPerSecond float64 `json:"prompt_per_second"`
	// PredictedN counts the generated tokens; PredictedMS is the time from
	// the first generated token to the last, and PredictedPerSecond the
	// tokens after each choice's first over it.
	PredictedN         int     `json:"predicted_n"`
	PredictedMS        float64 `json:"predicted_ms"`
	PredictedPerSecond float64 `json:"predicted_per_second"`
}

// timingsOf measures the choices cs (of jobs) that ended with res.
func timingsOf(jobs []*genJob, cs []choiceStream, res []choiceResult) *timings {
	t := &timings{}
	seen := map[*genJob]bool{}
	var first, last time.Time
	var prompt time.Duration
	after := 0 // tokens after each choice's first
	for i, c := range cs {
		r := res[i]
		if !seen[c.job] {
			seen[c.job] = true
			t.PromptN += len(c.job.prompt) - r.res.CachedTokens
			prompt = max(prompt, r.res.FirstToken-r.res.Queued)
		}
		t.PredictedN += r.res.CompletionTokens
		if r.first.IsZero() {
			continue
		}
		after += r.res.CompletionTokens - 1
		if first.IsZero() || r.first.Before(first) {
			first = r.first
		}
		if r.last.After(last) {
			last = r.last
		}
	}
	t.PromptMS = ms(prompt)
	if t.PromptMS > 0 {
		t.PromptPerSecond = float64(t.PromptN) / t.PromptMS * 1000
	}
	if !first.IsZero() {
		t.PredictedMS = ms(last.Sub(first))
	}
	if t.PredictedMS > 0 && after > 0 {
		t.PredictedPerSecond = float64(after) / t.PredictedMS * 1000
	}
	return t
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
