package distill

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Export formats.
const (
	// FormatMessages is TRL's conversational layout, one
	// {"messages": [...]} per line, the answer's reasoning in the
	// assistant message's reasoning_content.
	FormatMessages = "messages"
	// FormatShareGPT is {"conversations": [{"from": "system"|"human"|"gpt",
	// "value"}...]}, the reasoning inline in the gpt turn as in
	// FormatThinkInline.
	FormatShareGPT = "sharegpt"
	// FormatThinkInline is FormatMessages with the reasoning inside the
	// answer's text, "<think>\nREASONING\n</think>\n\nANSWER", as open-r1
	// and OpenThoughts publish.
	FormatThinkInline = "think-inline"
)

// Formats lists the export formats.
var Formats = []string{FormatMessages, FormatShareGPT, FormatThinkInline}

// Export writes the kept records of the collection in dir (its
// samples.jsonl) to w in format and returns how many it wrote.
func Export(dir, format string, w io.Writer) (int, error) {
	conv, err := converter(format)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(filepath.Join(dir, SamplesFile))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	bw := bufio.NewWriter(w)
	n := 0
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(b) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			return n, err
		}
		if err == io.EOF {
			return n, fmt.Errorf("%s: the last line is half-written: run qilin distill collect again to repair it", f.Name())
		}
		rec, perr := parseRecord(b)
		if perr != nil {
			return n, fmt.Errorf("%s line %d: %v", f.Name(), line, perr)
		}
		bw.Write(marshal(conv(rec)))
		bw.WriteByte('\n')
		n++
	}
	return n, bw.Flush()
}

func converter(format string) (func(*Record) any, error) {
	switch format {
	case FormatMessages:
		return func(r *Record) any { return map[string]any{"messages": r.Messages} }, nil
	case FormatThinkInline:
		return func(r *Record) any { return map[string]any{"messages": inlineMessages(r)} }, nil
	case FormatShareGPT:
		return func(r *Record) any {
			from := map[string]string{"system": "system", "user": "human", "assistant": "gpt", "tool": "tool"}
			conv := []map[string]string{}
			for _, m := range inlineMessages(r) {
				role := from[m.Role]
				if role == "" {
					role = m.Role
				}
				conv = append(conv, map[string]string{"from": role, "value": m.Content})
			}
			return map[string]any{"conversations": conv}
		}, nil
	}
	return nil, fmt.Errorf("distill: export format %q: want one of %s", format, strings.Join(Formats, ", "))
}

// inlineMessages returns r's conversation with the answer's reasoning
// written into its text.
func inlineMessages(r *Record) []Message {
	out := make([]Message, len(r.Messages))
	for i, m := range r.Messages {
		out[i] = Message{Role: m.Role, Content: m.Content}
		if m.ReasoningContent != nil && *m.ReasoningContent != "" {
			out[i].Content = ThinkInline(*m.ReasoningContent, m.Content)
		}
	}
	return out
}

// ThinkInline writes reasoning and answer as one text, the way reasoning
// models emit them: "<think>\nREASONING\n</think>\n\nANSWER".
func ThinkInline(reasoning, answer string) string {
	return "<think>\n" + reasoning + "\n</think>\n\n" + answer
}
