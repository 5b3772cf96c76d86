package server

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
)

// TestConcurrentClientsMatchSequential: 16 clients each send several greedy
// requests at once through 4 slots (so requests queue, batch and reuse
// prefixes); every answer equals the one the same request got alone.
func TestConcurrentClientsMatchSequential(t *testing.T) {
	const clients, perClient = 16, 3
	ts := startServer(t, modelR1, Options{Sched: schedOpts(4, 64)})
	c := ts.client()
	params := func(client, i int) openai.ChatCompletionNewParams {
		// Shared system prompt, varied user turns: prefixes get reused.
		return chatParams(fmt.Sprintf("Question %d from client %d: what is %d+%d?", i, client, client, i), int64(4+(client+i)%5))
	}
	type answer struct {
		content string
		tokens  int64
	}
	ask := func(p openai.ChatCompletionNewParams) (answer, error) {
		resp, err := c.Chat.Completions.New(context.Background(), p, thinkOn)
		if err != nil {
			return answer{}, err
		}
		msg := resp.Choices[0].Message
		return answer{msg.Content + "|" + msg.JSON.ExtraFields["reasoning_content"].Raw(), resp.Usage.CompletionTokens}, nil
	}
	want := map[[2]int]answer{}
	for cl := range clients {
		for i := range perClient {
			a, err := ask(params(cl, i))
			if err != nil {
				t.Fatal(err)
			}
			want[[2]int{cl, i}] = a
		}
	}
	var mu sync.Mutex
	got := map[[2]int]answer{}
	var wg sync.WaitGroup
	for cl := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				a, err := ask(params(cl, i))
				if err != nil {
					t.Errorf("client %d request %d: %v", cl, i, err)
					return
				}
				mu.Lock()
				got[[2]int{cl, i}] = a
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("client %d request %d: concurrent %+v, sequential %+v", k[0], k[1], got[k], w)
		}
	}
	st := ts.m.sched.Stats()
	if st.Steps >= st.GeneratedTokens {
		t.Errorf("%d steps for %d generated tokens: no batching happened", st.Steps, st.GeneratedTokens)
	}
	t.Logf("%d requests, %d tokens in %d steps, %d of %d prompt tokens reused", st.Requests, st.GeneratedTokens, st.Steps, st.CachedTokens, st.PromptTokens)
}
