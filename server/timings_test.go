package server

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/qilin-ai/qilin/engine"
)

// TestTimingsOf: prompts count once, minus their cached tokens; decode
// speed counts the tokens after each choice's first over the span from
// the first token to the last.
func TestTimingsOf(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	a := &genJob{prompt: make([]int, 100)}
	b := &genJob{prompt: make([]int, 40)}
	result := func(n, cached int, queued, first time.Duration, from, to int) choiceResult {
		r := choiceResult{res: engine.Result{CompletionTokens: n, CachedTokens: cached, Queued: queued, FirstToken: first}}
		if n > 0 {
			r.first, r.last = at(from), at(to)
		}
		return r
	}
	for _, tc := range []struct {
		name string
		jobs []*genJob
		cs   []choiceStream
		res  []choiceResult
		want timings
	}{
		{"one choice", []*genJob{a}, []choiceStream{{job: a}}, []choiceResult{result(11, 20, 5*time.Millisecond, 45*time.Millisecond, 0, 500)},
			timings{PromptN: 80, PromptMS: 40, PromptPerSecond: 2000, PredictedN: 11, PredictedMS: 500, PredictedPerSecond: 20}},
		{"two choices of one prompt", []*genJob{a}, []choiceStream{{job: a}, {job: a, index: 1}},
			[]choiceResult{result(6, 0, 0, 50*time.Millisecond, 0, 100), result(6, 0, 0, 50*time.Millisecond, 10, 200)},
			timings{PromptN: 100, PromptMS: 50, PromptPerSecond: 2000, PredictedN: 12, PredictedMS: 200, PredictedPerSecond: 50}},
		{"two prompts, one without tokens", []*genJob{a, b}, []choiceStream{{job: a}, {job: b, index: 1}},
			[]choiceResult{result(3, 0, 0, 100*time.Millisecond, 0, 40), result(0, 0, 0, 0, 0, 0)},
			timings{PromptN: 140, PromptMS: 100, PromptPerSecond: 1400, PredictedN: 3, PredictedMS: 40, PredictedPerSecond: 50}},
		{"one token: no speed", []*genJob{b}, []choiceStream{{job: b}}, []choiceResult{result(1, 0, 0, 20*time.Millisecond, 7, 7)},
			timings{PromptN: 40, PromptMS: 20, PromptPerSecond: 2000, PredictedN: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, *timingsOf(tc.jobs, tc.cs, tc.res)); diff != "" {
				t.Errorf("timingsOf (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTimingsSent: the usage chunk of a stream and a whole response carry
// timings that agree with usage.
func TestTimingsSent(t *testing.T) {
	ts := startServer(t, modelR1, Options{}, withScript(scriptFor(t, modelR1, "I add.\n</think>\n\nIt is 4.", nil)))
	type tail struct {
		Usage   *usage   `json:"usage"`
		Timings *timings `json:"timings"`
	}
	msgs := `"messages":[{"role":"user","content":"2+2?"}]`
	for _, tc := range []struct{ name, path, body string }{
		{"chat stream", "/v1/chat/completions", `{` + msgs + `,"stream":true,"stream_options":{"include_usage":true}}`},
		{"chat", "/v1/chat/completions", `{` + msgs + `}`},
		{"completion stream", "/v1/completions", `{"prompt":"2+2=","max_tokens":8,"stream":true,"stream_options":{"include_usage":true}}`},
		{"completion", "/v1/completions", `{"prompt":"2+2=","max_tokens":8}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := ts.post(t, tc.path, tc.body)
			if code != 200 {
				t.Fatalf("%d %s", code, body)
			}
			last := string(body)
			if strings.Contains(tc.body, `"stream":true`) {
				events := strings.Split(strings.TrimSpace(last), "\n\n")
				last = strings.TrimPrefix(events[len(events)-2], "data: ") // before [DONE]
			}
			var got tail
			if err := json.Unmarshal([]byte(last), &got); err != nil || got.Usage == nil || got.Timings == nil {
				t.Fatalf("no usage and timings in %s (%v)", last, err)
			}
			u, tm := got.Usage, got.Timings
			if tm.PromptN != u.PromptTokens-u.PromptTokensDetails.CachedTokens || tm.PredictedN != u.CompletionTokens || u.CompletionTokens < 2 {
				t.Errorf("timings %+v disagree with usage %+v", tm, u)
			}
			if tm.PromptMS <= 0 || tm.PredictedMS <= 0 {
				t.Errorf("timings %+v: want positive durations", tm)
			}
			if want := float64(tm.PredictedN-1) / tm.PredictedMS * 1000; tm.PredictedPerSecond != want {
				t.Errorf("predicted_per_second %v, want (predicted_n-1)/predicted_ms = %v", tm.PredictedPerSecond, want)
			}
		})
	}
}
