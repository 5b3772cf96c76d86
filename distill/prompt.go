package distill

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/qilin-ai/qilin/remote"
)

// Prompt is one prompt of a collection.
type Prompt struct {
	// ID names the prompt in the dataset: the "id" of its line, or the
	// SHA-256 (hex) of its canonical messages when it has none.
	ID string
	// Messages is the conversation to answer, as given (a --system
	// prompt is added at collection time, when it has no system turn).
	Messages []remote.Message
	// Answer is the reference answer of a prompt that carries one (for
	// the answer check); "" when none.
	Answer string
	// Line is the prompt's line in its file, from 1.
	Line int
}

// maxPromptLine bounds one line of a prompts file.
const maxPromptLine = 16 << 20

// ReadPrompts reads prompts: JSON Lines, each {"id": ..., "prompt": "..."}
// or {"id": ..., "messages": [{"role", "content"}...]} with an optional
// "answer" (a string or a number), or plain text with one prompt per line.
// The format is the first non-blank line's: JSON when it starts with "{".
// Blank lines are skipped. An id may be a string or a number; without one
// the id is the SHA-256 of the canonical prompt (its messages as JSON), so
// the same text always gets the same id. A prompt repeated without an id is
// kept once (dups counts the others); an id given twice is an error. name
// labels errors.
func ReadPrompts(r io.Reader, name string) (prompts []Prompt, dups int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	seen := map[string]int{} // id -> line
	var isJSON *bool
	for line := 1; ; line++ {
		b, rerr := readLongLine(br, maxPromptLine)
		if rerr != nil && rerr != io.EOF {
			return nil, 0, fmt.Errorf("%s:%d: %w", name, line, rerr)
		}
		text := strings.TrimRight(string(b), "\r")
		if strings.TrimSpace(text) != "" {
			if isJSON == nil {
				j := strings.HasPrefix(strings.TrimSpace(text), "{")
				isJSON = &j
			}
			var p Prompt
			explicit := false
			if *isJSON {
				p, explicit, err = parsePromptJSON([]byte(text))
				if err != nil {
					return nil, 0, fmt.Errorf("%s:%d: %w", name, line, err)
				}
			} else {
				p = Prompt{Messages: []remote.Message{{Role: "user", Content: text}}}
			}
			p.Line = line
			if !explicit {
				p.ID = CanonicalID(p.Messages)
			}
			if first, dup := seen[p.ID]; dup {
				if explicit {
					return nil, 0, fmt.Errorf("%s:%d: id %q was used on line %d already", name, line, p.ID, first)
				}
				dups++
			} else {
				seen[p.ID] = line
				prompts = append(prompts, p)
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if len(prompts) == 0 {
		return nil, 0, fmt.Errorf("%s: no prompts", name)
	}
	return prompts, dups, nil
}

// CanonicalID is the id of a prompt without one: the SHA-256 (hex) of its
// messages as compact JSON [{"role", "content"}...].
func CanonicalID(msgs []remote.Message) string {
	plain := make([]remote.Message, len(msgs))
	for i, m := range msgs {
		plain[i] = remote.Message{Role: m.Role, Content: m.Content}
	}
	h := sha256.Sum256(marshal(plain))
	return hex.EncodeToString(h[:])
}

func parsePromptJSON(b []byte) (p Prompt, explicitID bool, err error) {
	var w struct {
		ID       json.RawMessage  `json:"id"`
		Prompt   *string          `json:"prompt"`
		Messages []remote.Message `json:"messages"`
		Answer   json.RawMessage  `json:"answer"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&w); err != nil {
		return p, false, fmt.Errorf("not a JSON prompt: %v", err)
	}
	if dec.More() {
		return p, false, fmt.Errorf("more than one JSON value on the line")
	}
	switch {
	case w.Prompt != nil && w.Messages != nil:
		return p, false, fmt.Errorf(`give "prompt" or "messages", not both`)
	case w.Prompt != nil:
		if strings.TrimSpace(*w.Prompt) == "" {
			return p, false, fmt.Errorf(`"prompt" is empty`)
		}
		p.Messages = []remote.Message{{Role: "user", Content: *w.Prompt}}
	case len(w.Messages) > 0:
		for i, m := range w.Messages {
			switch m.Role {
			case "system", "user", "assistant", "tool", "developer":
			default:
				return p, false, fmt.Errorf("messages[%d]: role %q", i, m.Role)
			}
		}
		if last := w.Messages[len(w.Messages)-1].Role; last == "assistant" {
			return p, false, fmt.Errorf("the last message is the assistant's: nothing to answer")
		}
		p.Messages = w.Messages
	default:
		return p, false, fmt.Errorf(`no "prompt" nor "messages"`)
	}
	if len(w.ID) > 0 && string(w.ID) != "null" {
		if p.ID, err = scalarText(w.ID); err != nil {
			return p, false, fmt.Errorf(`"id": %v`, err)
		}
		if p.ID == "" {
			return p, false, fmt.Errorf(`"id" is empty`)
		}
		explicitID = true
	}
	if len(w.Answer) > 0 && string(w.Answer) != "null" {
		if p.Answer, err = scalarText(w.Answer); err != nil {
			return p, false, fmt.Errorf(`"answer": %v`, err)
		}
	}
	return p, explicitID, nil
}

// scalarText returns a JSON string's value or a number's text.
func scalarText(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("want a string or a number, got %s", raw)
}

// readLongLine reads one line (without its break) of at most max bytes.
func readLongLine(r *bufio.Reader, max int) ([]byte, error) {
	var out []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(out)+len(frag) > max {
			return nil, fmt.Errorf("line longer than %d bytes", max)
		}
		out = append(out, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return out, err
		}
		return out[:len(out)-1], nil
	}
}

// marshal encodes v as compact JSON without HTML escaping (so that
// "<think>" reads as written).
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("distill: marshal: " + err.Error()) // only plain data is marshalled
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}
