package remote

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// maxLine bounds one server-sent event line.
const maxLine = 16 << 20

// readStream reads a chat completion stream (server-sent events) to its
// end, calling onDelta with each piece. A stream is complete at "data:
// [DONE]", or at a clean end after a finish_reason; anything else is
// ErrStreamCut. When nothing arrives for idle, stall cancels the attempt.
func (c *Client) readStream(body io.Reader, onDelta func(Delta), idle time.Duration, stall func(error)) (resp *ChatResponse, streamed bool, err error) {
	watchdog := time.AfterFunc(idle, func() { stall(fmt.Errorf("%w: nothing received for %v", ErrStalled, idle)) })
	defer watchdog.Stop()
	r := bufio.NewReaderSize(body, 64<<10)
	resp = &ChatResponse{}
	var content, reasoning strings.Builder
	finished := false
	for {
		line, rerr := readLine(r)
		watchdog.Reset(idle)
		if rerr != nil && len(line) == 0 {
			if rerr == io.EOF && finished {
				break
			}
			if rerr == io.EOF || errors.Is(rerr, io.ErrUnexpectedEOF) {
				return nil, streamed, fmt.Errorf("remote: %s: %w", c.ep.Title, ErrStreamCut)
			}
			return nil, streamed, rerr
		}
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue // comments, event names, blank separators
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			break
		}
		var w wireResponse
		if err := jsonUnmarshal(data, &w); err != nil {
			return nil, streamed, fmt.Errorf("remote: %s: malformed stream event: %v", c.ep.Title, err)
		}
		if w.Error != nil {
			return nil, streamed, &Error{Endpoint: c.ep.Title, Message: c.clean(w.Error.Message), Code: codeString(w.Error), keyEnv: c.keyEnv}
		}
		if resp.ID == "" {
			resp.ID, resp.Model = w.ID, w.Model
		}
		if w.Usage != nil {
			resp.Usage = w.Usage.usage()
		}
		if len(w.Choices) == 0 {
			continue
		}
		ch := &w.Choices[0]
		d := Delta{Reasoning: ch.Delta.reasoning(), Content: ch.Delta.content()}
		if ch.Logprobs != nil {
			d.Logprobs = tokenLogprobs(ch.Logprobs.Content)
		}
		reasoning.WriteString(d.Reasoning)
		content.WriteString(d.Content)
		resp.Logprobs = append(resp.Logprobs, d.Logprobs...)
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			resp.FinishReason = *ch.FinishReason
			finished = true
		}
		if onDelta != nil && (d.Reasoning != "" || d.Content != "" || len(d.Logprobs) > 0) {
			onDelta(d)
			streamed = true
		}
	}
	if !finished {
		return nil, streamed, fmt.Errorf("remote: %s: %w (no finish_reason)", c.ep.Title, ErrStreamCut)
	}
	resp.Content, resp.Reasoning = content.String(), reasoning.String()
	return resp, streamed, nil
}

// readLine returns the next line without its line break, up to maxLine
// bytes; a last line without a break comes with io.EOF only if empty.
func readLine(r *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		frag, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if len(long)+len(frag) > maxLine {
				return nil, fmt.Errorf("stream line longer than %d bytes", maxLine)
			}
			long = append(long, frag...)
			continue
		}
		line := frag
		if long != nil {
			line = append(long, frag...)
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				// A last line without its break: the connection was cut
				// inside an event.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return bytes.TrimRight(line, "\r\n"), nil
	}
}
