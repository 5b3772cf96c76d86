package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/qilin-ai/qilin/sample"
)

// Limits on request fields.
const (
	maxN           = 16 // choices per request
	maxTopLogprobs = 20
	maxStops       = 16
)

// decodeBody reads a JSON request body into v. Errors name the field whose
// type is wrong, or the offset of a syntax error.
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
				Message: fmt.Sprintf("request body is larger than %d bytes", mb.Limit)}
		}
		return badRequest("", "reading the request body: %v", err)
	}
	return decodeJSON(body, v)
}

// decodeJSON decodes one JSON value from body into v.
func decodeJSON(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("", "empty request body: want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		var fe *fieldError
		switch {
		case errors.As(err, &se):
			return badRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &te):
			if te.Field == "" {
				return badRequest("", "want a JSON object, got %s", te.Value)
			}
			// Fields of embedded structs carry the struct's Go name.
			field := strings.ReplaceAll(te.Field, "samplingFields.", "")
			return badRequest(field, "wrong type: want %s, got %s", typeName(te.Type.String()), te.Value)
		case errors.As(err, &fe):
			return badRequest(fe.field, "%s", fe.msg)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("", "malformed JSON: unexpected end of input")
		}
		return badRequest("", "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("", "malformed JSON: data after the request object")
	}
	return nil
}

// typeName turns a Go type into the JSON kind a client knows.
func typeName(t string) string {
	t = strings.TrimPrefix(t, "*")
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "struct") || strings.HasPrefix(t, "server."):
		return "an object"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint"):
		return "an integer"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "a boolean"
	case t == "string":
		return "a string"
	}
	return t
}

// fieldError is a decoding error of a field with a custom decoder.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

// stopList is OpenAI's stop: a string or an array of strings.
type stopList []string

func (s *stopList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = stopList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return &fieldError{"stop", "want a string or an array of strings"}
	}
	*s = many
	return nil
}

// samplingFields are the sampling parameters OpenAI-style requests share.
type samplingFields struct {
	Temperature      *float64 `json:"temperature"`
	TopP             *float64 `json:"top_p"`
	TopK             *int     `json:"top_k"`
	MinP             *float64 `json:"min_p"`
	PresencePenalty  *float64 `json:"presence_penalty"`
	FrequencyPenalty *float64 `json:"frequency_penalty"`
	RepeatPenalty    *float64 `json:"repeat_penalty"`
	Seed             *int64   `json:"seed"`
}

// Defaults as llama.cpp's server uses them.
const (
	defaultTemperature = 0.8
	defaultTopK        = 40
	defaultTopP        = 0.95
	defaultMinP        = 0.05
)

// params validates the fields and returns the sampler parameters.
func (f *samplingFields) params() (sample.Params, *apiError) {
	p := sample.Params{Temperature: defaultTemperature, TopK: defaultTopK, TopP: defaultTopP, MinP: defaultMinP}
	check := func(name string, v *float64, lo, hi float64, dst *float32) *apiError {
		if v == nil {
			return nil
		}
		if math.IsNaN(*v) || *v < lo || *v > hi {
			return badRequest(name, "%v is outside [%v, %v]", *v, lo, hi)
		}
		*dst = float32(*v)
		return nil
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
		dst    *float32
	}{
		{"temperature", f.Temperature, 0, 2, &p.Temperature},
		{"top_p", f.TopP, 0, 1, &p.TopP},
		{"min_p", f.MinP, 0, 1, &p.MinP},
		{"presence_penalty", f.PresencePenalty, -2, 2, &p.PresencePenalty},
		{"frequency_penalty", f.FrequencyPenalty, -2, 2, &p.FrequencyPenalty},
		{"repeat_penalty", f.RepeatPenalty, 0, 10, &p.RepeatPenalty},
	} {
		if err := check(c.name, c.v, c.lo, c.hi, c.dst); err != nil {
			return p, err
		}
	}
	if f.TopK != nil {
		if *f.TopK < 0 {
			return p, badRequest("top_k", "%d is negative", *f.TopK)
		}
		p.TopK = *f.TopK
	}
	if f.Seed != nil {
		p.Seed = uint64(*f.Seed)
	}
	return p, nil
}

// maxTokens picks the limit from max_completion_tokens or max_tokens and
// checks it against the server's limit. 0 means until the context is full.
func maxTokens(limit int, fields ...struct {
	name string
	v    *int
}) (int, *apiError) {
	for _, f := range fields {
		if f.v == nil {
			continue
		}
		switch {
		case *f.v < 1:
			return 0, badRequest(f.name, "%d is not a positive number of tokens", *f.v)
		case *f.v > limit:
			return 0, badRequest(f.name, "%d is above this server's limit of %d tokens", *f.v, limit)
		}
		return *f.v, nil
	}
	return 0, nil
}

func stops(s stopList) ([]string, *apiError) {
	if len(s) > maxStops {
		return nil, badRequest("stop", "%d stop strings, at most %d", len(s), maxStops)
	}
	out := make([]string, 0, len(s))
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out, nil
}

func choices(n *int) (int, *apiError) {
	if n == nil {
		return 1, nil
	}
	if *n < 1 || *n > maxN {
		return 0, badRequest("n", "%d is outside [1, %d]", *n, maxN)
	}
	return *n, nil
}
