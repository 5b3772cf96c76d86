package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/qilin-ai/qilin/chat"
)

// Record is one conversation of a dataset, whatever layout it came in: the
// messages (the last one the assistant's answer to train on), why the
// teacher stopped, and the teacher's log-probabilities of the answer's
// tokens where the collection recorded them.
type Record struct {
	Messages     []chat.Message
	FinishReason string
	Logprobs     []TokenLogprobs
}

// TokenLogprobs is one generated token with its log-probability and the
// teacher's most likely alternatives at that position.
type TokenLogprobs struct {
	Token   string       `json:"token"`
	Bytes   []int        `json:"bytes"`
	Logprob float64      `json:"logprob"`
	Top     []TopLogprob `json:"top_logprobs"`
}

// TopLogprob is one alternative token.
type TopLogprob struct {
	Token   string  `json:"token"`
	Bytes   []int   `json:"bytes"`
	Logprob float64 `json:"logprob"`
}

// maxRecordBytes bounds one JSONL line (64 MiB), so that a corrupt file
// cannot make the reader buffer without end.
const maxRecordBytes = 64 << 20

// DataFile returns the JSONL file a --data argument names: DIR/samples.jsonl
// for a directory (what qilin distill collect writes), or the file itself.
func DataFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("train: data: %w", err)
	}
	if fi.IsDir() {
		p := filepath.Join(path, "samples.jsonl")
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("train: data: %s holds no samples.jsonl: %w", path, err)
		}
		return p, nil
	}
	return path, nil
}

// ReadRecords reads a JSONL dataset: one conversation a line, in TRL's
// "messages" layout ([{"role", "content", "reasoning_content"}...], with
// qilin distill collect's "finish_reason" and "logprobs"), ShareGPT's
// "conversations" ([{"from": "human"|"gpt"|"system", "value"}...]), or
// {"prompt", "completion"}. An assistant content with an inline
// <think>...</think> block is split into reasoning and content. Blank
// lines are skipped; a malformed line is an error naming its number, except
// a last line without its newline (a collection killed mid-write), which
// is dropped.
func ReadRecords(r io.Reader) ([]Record, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var out []Record
	for line := 1; ; line++ {
		data, err := readLine(br)
		if err == io.EOF {
			return out, nil
		}
		if errors.Is(err, errTornLine) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("train: data line %d: %w", line, err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		rec, err := parseRecord(data)
		if err != nil {
			return nil, fmt.Errorf("train: data line %d: %w", line, err)
		}
		out = append(out, rec)
	}
}

var errTornLine = errors.New("last line has no newline")

// readLine returns the next line without its newline.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxRecordBytes {
			return nil, fmt.Errorf("line longer than %d bytes", maxRecordBytes)
		}
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			if json.Valid(bytes.TrimSpace(buf)) {
				return buf, nil
			}
			return nil, errTornLine
		default:
			return nil, err
		}
	}
}

// rawRecord is the union of the layouts ReadRecords accepts.
type rawRecord struct {
	Messages      []rawMessage    `json:"messages"`
	Conversations []rawMessage    `json:"conversations"`
	Prompt        *string         `json:"prompt"`
	Completion    *string         `json:"completion"`
	FinishReason  string          `json:"finish_reason"`
	Logprobs      json.RawMessage `json:"logprobs"`
}

// rawMessage is a message in either the OpenAI or the ShareGPT form; the
// content may be a string or a list of {"type": "text", "text"} parts.
type rawMessage struct {
	Role             string          `json:"role"`
	From             string          `json:"from"`
	Content          json.RawMessage `json:"content"`
	Value            *string         `json:"value"`
	ReasoningContent string          `json:"reasoning_content"`
	Reasoning        string          `json:"reasoning"`
}

var shareGPTRoles = map[string]string{"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
	"system": "system", "tool": "tool", "function": "tool"}

func parseRecord(data []byte) (Record, error) {
	var raw rawRecord
	if err := json.Unmarshal(data, &raw); err != nil {
		return Record{}, err
	}
	rec := Record{FinishReason: raw.FinishReason}
	msgs := raw.Messages
	if msgs == nil {
		msgs = raw.Conversations
	}
	for i, m := range msgs {
		cm, err := m.message()
		if err != nil {
			return Record{}, fmt.Errorf("message %d: %w", i, err)
		}
		rec.Messages = append(rec.Messages, cm)
	}
	if msgs == nil && raw.Prompt != nil && raw.Completion != nil {
		rec.Messages = []chat.Message{{Role: "user", Content: *raw.Prompt}, {Role: "assistant", Content: *raw.Completion}}
	}
	if len(rec.Messages) == 0 {
		return Record{}, fmt.Errorf("no messages, conversations or prompt/completion")
	}
	last := &rec.Messages[len(rec.Messages)-1]
	if last.Role == "assistant" && last.ReasoningContent == "" {
		last.ReasoningContent, last.Content = splitThink(last.Content)
	}
	if len(raw.Logprobs) > 0 && string(raw.Logprobs) != "null" {
		// Either a list of tokens or OpenAI's {"content": [...]}.
		if err := json.Unmarshal(raw.Logprobs, &rec.Logprobs); err != nil {
			var wrapped struct {
				Content []TokenLogprobs `json:"content"`
			}
			if err2 := json.Unmarshal(raw.Logprobs, &wrapped); err2 != nil {
				return Record{}, fmt.Errorf("logprobs: %w", err)
			}
			rec.Logprobs = wrapped.Content
		}
	}
	return rec, nil
}

func (m rawMessage) message() (chat.Message, error) {
	role := m.Role
	if role == "" {
		role = shareGPTRoles[m.From]
		if role == "" {
			return chat.Message{}, fmt.Errorf("unknown role %q", m.From)
		}
	}
	out := chat.Message{Role: role, ReasoningContent: m.ReasoningContent}
	if out.ReasoningContent == "" {
		out.ReasoningContent = m.Reasoning
	}
	switch {
	case m.Value != nil:
		out.Content = *m.Value
	case len(m.Content) == 0 || string(m.Content) == "null":
	case m.Content[0] == '"':
		if err := json.Unmarshal(m.Content, &out.Content); err != nil {
			return out, err
		}
	default:
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return out, fmt.Errorf("content is neither a string nor a list of parts")
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" || p.Type == "" {
				b.WriteString(p.Text)
			}
		}
		out.Content = b.String()
	}
	return out, nil
}

// splitThink splits "<think>R</think>C" (leading whitespace allowed) into
// the reasoning R and the content C, both trimmed as collect stores them;
// content without a leading think block is returned as is.
func splitThink(s string) (reasoning, content string) {
	t := strings.TrimLeft(s, " \t\r\n")
	if !strings.HasPrefix(t, chat.ThinkOpen) {
		return "", s
	}
	end := strings.Index(t, chat.ThinkClose)
	if end < 0 {
		return "", s
	}
	return strings.TrimSpace(t[len(chat.ThinkOpen):end]), strings.TrimLeft(t[end+len(chat.ThinkClose):], " \t\r\n")
}

// ManifestTeacher returns the teacher named in a collection's manifest
// (DIR/manifest.json, as qilin distill collect writes it: "teacher":
// {"model", "endpoint"}, endpoint "local" for a model file run in
// process). ok is false when dir has no readable manifest.
func ManifestTeacher(dir string) (model, endpoint string, ok bool) {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return "", "", false
	}
	var m struct {
		Teacher json.RawMessage `json:"teacher"`
	}
	if json.Unmarshal(data, &m) != nil || len(m.Teacher) == 0 {
		return "", "", false
	}
	var t struct {
		Model    string `json:"model"`
		Endpoint string `json:"endpoint"`
	}
	if json.Unmarshal(m.Teacher, &t) == nil && t.Model != "" {
		return t.Model, t.Endpoint, true
	}
	var s string
	if json.Unmarshal(m.Teacher, &s) == nil && s != "" {
		return s, "", true
	}
	return "", "", false
}

// ReadDataset reads the records of a --data argument (see DataFile) and
// returns them with the file they came from.
func ReadDataset(path string) (string, []Record, error) {
	file, err := DataFile(path)
	if err != nil {
		return "", nil, err
	}
	f, err := os.Open(file)
	if err != nil {
		return "", nil, fmt.Errorf("train: data: %w", err)
	}
	defer f.Close()
	recs, err := ReadRecords(f)
	return file, recs, err
}
