package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// This file holds tasks: their items, and custom tasks read from JSONL.

// Kind says how a task is run.
type Kind int

const (
	// Generate: the model answers each item, the answer is scored.
	Generate Kind = iota
	// Perplexity: the model scores a text.
	Perplexity
)

// Task is a benchmark: items and how to score them.
type Task struct {
	// Name names the task in results.json ("gsm8k", or a custom task's
	// file name without ".jsonl").
	Name  string
	Kind  Kind
	Items []Item
	// Text is the text a Perplexity task scores.
	Text string
	// Source says where the data came from (a Hub file, a path).
	Source string
}

// Message is one turn of an item's conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Item is one question of a task: one line of a custom task's JSONL,
// {"id", "prompt"|"messages", "answer", "choices"?, "scorer"?}.
type Item struct {
	ID string `json:"id"`
	// Prompt is the user message; Messages the conversation instead.
	Prompt   string    `json:"prompt,omitempty"`
	Messages []Message `json:"messages,omitempty"`
	// Answer is the reference answer (a choice letter for Choice).
	Answer string `json:"answer"`
	// Choices are a multiple-choice item's choices, in letter order.
	Choices []string `json:"choices,omitempty"`
	// Scorer is the item's scorer; "" is Choice for an item with
	// choices, else Numeric.
	Scorer Scorer `json:"scorer,omitempty"`

	// LogLikContext and LogLikChoices, when set, score the item by the
	// log-likelihood of each continuation LogLikChoices[i] after
	// LogLikContext (plain text, no chat template), as
	// lm-evaluation-harness scores multiple-choice tasks: the right
	// continuation is the one of the answer's letter.
	LogLikContext string   `json:"-"`
	LogLikChoices []string `json:"-"`
}

// Conversation returns the item's messages: Messages, or one user
// message holding Prompt.
func (it *Item) Conversation() []Message {
	if len(it.Messages) > 0 {
		return it.Messages
	}
	return []Message{{Role: "user", Content: it.Prompt}}
}

// PromptText is the prompt as samples.jsonl shows it: Prompt, or each
// message as "role: content" on its own line.
func (it *Item) PromptText() string {
	if len(it.Messages) == 0 {
		return it.Prompt
	}
	var b strings.Builder
	for i, m := range it.Messages {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Role + ": " + m.Content)
	}
	return b.String()
}

// maxLine bounds one line of a custom task.
const maxLine = 16 << 20

// LoadCustom reads a custom task from a JSONL file: one Item a line
// (blank lines skipped). The task is named after the file, without
// ".jsonl".
func LoadCustom(path string) (*Task, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: task %s: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".jsonl")
	items, err := ParseItems(data)
	if err != nil {
		return nil, fmt.Errorf("eval: task %s: %w", path, err)
	}
	return &Task{Name: name, Items: items, Source: path}, nil
}

// ParseItems reads JSONL items and checks them: an id (unique), a prompt
// or messages, an answer, a known scorer; a choice item's answer is a
// letter of its choices, or the text of one (then turned into its letter).
func ParseItems(data []byte) ([]Item, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxLine)
	var items []Item
	seen := map[string]int{}
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var it Item
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&it); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if err := checkItem(&it); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if prev, ok := seen[it.ID]; ok {
			return nil, fmt.Errorf("line %d: id %q already on line %d", n, it.ID, prev)
		}
		seen[it.ID] = n
		if it.Scorer == Choice {
			it.LogLikContext = it.PromptText()
			it.LogLikChoices = make([]string, len(it.Choices))
			for i, c := range it.Choices {
				if strings.HasPrefix(c, " ") {
					it.LogLikChoices[i] = c // already delimited
				} else {
					it.LogLikChoices[i] = " " + c // the harness's target delimiter
				}
			}
		}
		items = append(items, it)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line longer than %d bytes", maxLine)
		}
		return nil, err
	}
	if len(items) == 0 {
		return nil, errors.New("no items")
	}
	return items, nil
}

func checkItem(it *Item) error {
	if it.Scorer == "" && len(it.Choices) > 0 {
		it.Scorer = Choice
	}
	s, err := ParseScorer(string(it.Scorer))
	if err != nil {
		return err
	}
	it.Scorer = s
	switch {
	case it.ID == "":
		return errors.New(`no "id"`)
	case it.Prompt == "" && len(it.Messages) == 0:
		return errors.New(`no "prompt" or "messages"`)
	case it.Prompt != "" && len(it.Messages) > 0:
		return errors.New(`both "prompt" and "messages"`)
	case strings.TrimSpace(it.Answer) == "":
		return errors.New(`no "answer"`)
	case len(it.Choices) > 26:
		return fmt.Errorf("%d choices (at most 26)", len(it.Choices))
	}
	for i, m := range it.Messages {
		if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
			return fmt.Errorf("message %d: role %q", i, m.Role)
		}
	}
	if s == Choice {
		if len(it.Choices) == 0 {
			return errors.New(`scorer "choice" without "choices"`)
		}
		for i, c := range it.Choices {
			if it.Answer == c {
				it.Answer = Letter(i)
			}
		}
		if len(it.Answer) != 1 || int(it.Answer[0]-'A') >= len(it.Choices) || it.Answer[0] < 'A' {
			return fmt.Errorf("answer %q is neither a choice's letter nor its text", it.Answer)
		}
	}
	return nil
}
