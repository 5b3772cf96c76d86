package distill_test

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/qilin-ai/qilin/distill"
	"github.com/qilin-ai/qilin/remote"
)

// clockTeacher answers at once (after latency, in the bubble's time) with
// a fixed usage, and records when each request arrived.
type clockTeacher struct {
	mu      sync.Mutex
	begin   time.Time
	starts  []time.Duration
	latency time.Duration
	usage   remote.Usage
}

func (c *clockTeacher) Chat(ctx context.Context, req remote.ChatRequest) (*remote.ChatResponse, error) {
	c.mu.Lock()
	c.starts = append(c.starts, time.Since(c.begin))
	c.mu.Unlock()
	time.Sleep(c.latency)
	return &remote.ChatResponse{Content: "ok", Reasoning: "r", ReasoningClosed: true, FinishReason: "stop", Usage: c.usage}, nil
}

// PromptTokens makes the collector's bound of a request exact: its
// prompt tokens plus max_tokens, which the answers use up.
func (c *clockTeacher) PromptTokens([]remote.Message) (int, error) { return c.usage.PromptTokens, nil }

// TestCollectPacing measures the request times of collections limited by
// --rpm and --tpm in a synctest bubble (exact fake time).
func TestCollectPacing(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rpm, tpm int
		usage    int           // tokens per request
		gap      time.Duration // 0: unchecked
		slack    int           // max_tokens beyond what the answers use
	}{
		{"60 rpm", 60, 0, 50, time.Second, 0},
		{"120 rpm", 120, 0, 50, 500 * time.Millisecond, 0},
		{"6000 tpm of 200-token requests", 0, 6000, 200, 2 * time.Second, 0},
		{"both: tpm binds", 60, 3000, 100, 2 * time.Second, 0},
		// A max_tokens above what answers use counts until each answer
		// ends: still exact, no longer exactly even.
		{"6000 tpm, max_tokens twice the use", 0, 6000, 200, 0, 150},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				teacher := &clockTeacher{begin: time.Now(), latency: 3 * time.Second,
					usage: remote.Usage{PromptTokens: tc.usage / 4, CompletionTokens: tc.usage - tc.usage/4, TotalTokens: tc.usage}}
				cfg := distill.Config{Teacher: teacher, Info: distill.TeacherInfo{Model: "m", Endpoint: "e"}, Prompts: testPrompts(10),
					Samples: 4, Params: distill.Params{MaxTokens: teacher.usage.CompletionTokens + tc.slack}, Concurrency: 8, Limiter: remote.NewLimiter(tc.rpm, tc.tpm)}
				if _, err := distill.Collect(context.Background(), t.TempDir(), cfg); err != nil {
					t.Fatal(err)
				}
				if len(teacher.starts) != 40 {
					t.Fatalf("%d requests, want 40", len(teacher.starts))
				}
				// Evenly paced: requests go out exactly one gap apart.
				for i := 1; i < len(teacher.starts) && tc.gap > 0; i++ {
					if d := teacher.starts[i] - teacher.starts[i-1]; d != tc.gap {
						t.Fatalf("requests %d and %d are %v apart, want %v (starts %v)", i-1, i, d, tc.gap, teacher.starts)
					}
				}
				for _, a := range teacher.starts {
					n := 0
					for _, b := range teacher.starts {
						if b >= a && b < a+time.Minute {
							n++
						}
					}
					if (tc.rpm > 0 && n > tc.rpm) || (tc.tpm > 0 && n*tc.usage > tc.tpm) {
						t.Fatalf("the minute from %v holds %d requests (%d tokens)", a, n, n*tc.usage)
					}
				}
				t.Logf("40 requests in %v: %.0f tokens/min", teacher.starts[39], float64(39*tc.usage)/teacher.starts[39].Minutes())
			})
		})
	}
}
