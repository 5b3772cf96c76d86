package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/qilin-ai/qilin/sample"
)

// Limits on request fields.
const (
	maxN           = 16 // choices per request
	maxTopLogprobs = 20
	maxStops       = 16
)

// limitedBody is a request body cut at the server's limit. It keeps the
// raw body so that a request over the limit can be read to its end before
// the 413 goes out: a client still sending when the connection closes gets
// a reset instead of the answer.
type limitedBody struct {
	io.ReadCloser               // the body behind http.MaxBytesReader
	raw           io.ReadCloser // the body itself
}

// limitBody wraps r's body with the limit.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) {
	r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), raw: r.Body}
}

// drainLimit bounds what is read of a body over the limit, beyond it: a
// larger body is cut (the client may then see a reset).
const drainLimit = 64 << 20

// discardRest reads what is left of an oversized body.
func discardRest(r *http.Request) {
	if lb, ok := r.Body.(*limitedBody); ok {
		io.CopyN(io.Discard, lb.raw, drainLimit)
	}
}

// decodeBody reads a JSON request body into v. Errors name the field whose
// type is wrong, or the offset of a syntax error.
func decodeBody(r *http.Request, v any) *apiError {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			discardRest(r)
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
			field := strings.ReplaceAll(strings.ReplaceAll(te.Field, "samplingFields.", ""), "structuredFields.", "")
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

// params validates the fields against sample.Ranges and returns the
// sampler parameters, sample.Defaults where a field is absent.
func (f *samplingFields) params() (sample.Params, *apiError) {
	p := sample.Defaults()
	for _, c := range []floatField{
		{"temperature", f.Temperature, &p.Temperature},
		{"top_p", f.TopP, &p.TopP},
		{"min_p", f.MinP, &p.MinP},
		{"presence_penalty", f.PresencePenalty, &p.PresencePenalty},
		{"frequency_penalty", f.FrequencyPenalty, &p.FrequencyPenalty},
		{"repeat_penalty", f.RepeatPenalty, &p.RepeatPenalty},
	} {
		if c.v == nil {
			continue
		}
		if err := checkRange(c.name, *c.v); err != nil {
			return p, err
		}
		*c.dst = float32(*c.v)
	}
	if f.TopK != nil {
		if err := checkRange("top_k", float64(*f.TopK)); err != nil {
			return p, err
		}
		p.TopK = *f.TopK
	}
	if f.Seed != nil {
		p.Seed = uint64(*f.Seed)
	}
	return p, nil
}

// floatField is a sampling field of a request and where its value goes.
type floatField struct {
	name string
	v    *float64
	dst  *float32
}

// checkRange checks v against the range sample.Ranges gives the field.
func checkRange(name string, v float64) *apiError {
	r, _ := sample.RangeOf(name)
	if err := r.Check(v); err != nil {
		return badRequest(name, "%v", err)
	}
	return nil
}

// tokenLimit is a request field that limits the completion tokens.
type tokenLimit struct {
	name string // the field's name: max_tokens, options.num_predict, ...
	v    *int   // nil when absent
}

// maxTokens picks the limit from the first field present (say
// max_completion_tokens, then max_tokens) and checks it against the
// server's limit. 0 means until the context is full.
func maxTokens(limit int, fields ...tokenLimit) (int, *apiError) {
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

// commonParams fills the sampling, choice count, stop strings and token
// limit of job.
func (s *Server) commonParams(m *model, job *genJob, sf *samplingFields, n *int, stop stopList, limits []tokenLimit) *apiError {
	p, aerr := sf.params()
	if aerr != nil {
		return aerr
	}
	job.req.Sample = p
	if job.n, aerr = choices(n); aerr != nil {
		return aerr
	}
	if job.req.Stop, aerr = stops(stop); aerr != nil {
		return aerr
	}
	job.req.MaxTokens, aerr = maxTokens(m.maxToks, limits...)
	return aerr
}

// readBody reads the request body, mapping an oversized body to 413.
func readBody(r *http.Request) ([]byte, *apiError) {
	var raw json.RawMessage
	if err := decodeBody(r, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// roles are the message roles chat templates know (OpenAI's; Ollama's are
// a subset).
var roles = []string{"system", "developer", "user", "assistant", "tool", "function"}

// checkRole refuses a role no template knows: it would render as a turn
// of its own that the model was never trained on.
func checkRole(i int, role string) *apiError {
	if slices.Contains(roles, role) {
		return nil
	}
	return badRequest(fmt.Sprintf("messages[%d].role", i), "%q is not a known role (%s)", role, strings.Join(roles, ", "))
}
