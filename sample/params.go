package sample

import (
	"fmt"
	"math"
)

// Defaults are the sampling parameters every qilin entry point starts
// from (the CLI's flags, the server's omitted fields), as llama.cpp's
// server sets them: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no
// penalties, and Seed 0 (a fresh random seed per request).
func Defaults() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05}
}

// Range is the accepted interval of a sampling parameter. Max is +Inf for
// parameters without an upper bound.
type Range struct {
	Min, Max float64
}

// Check returns nil when v lies in r, else an error that says so ("5 is
// outside [0, 1]"), without the parameter's name: callers prefix their own
// spelling of it (a JSON field, a flag).
func (r Range) Check(v float64) error {
	switch {
	case math.IsNaN(v):
		return fmt.Errorf("%v is not a number", v)
	case math.IsInf(r.Max, 1) && v < r.Min:
		if r.Min == 0 {
			return fmt.Errorf("%v is negative", v)
		}
		return fmt.Errorf("%v is below %v", v, r.Min)
	case v < r.Min || v > r.Max:
		return fmt.Errorf("%v is outside [%v, %v]", v, r.Min, r.Max)
	}
	return nil
}

// ParamRange is the range of one parameter of Params.
type ParamRange struct {
	Name  string // the OpenAI/llama.cpp field name: "temperature", "top_p", ...
	Range Range
	get   func(*Params) float64
}

// Ranges are the ranges the server and the CLI accept, named as OpenAI's
// (and llama.cpp's) request fields. A value outside them is refused, never
// clamped.
var Ranges = []ParamRange{
	{"temperature", Range{0, 2}, func(p *Params) float64 { return float64(p.Temperature) }},
	{"top_p", Range{0, 1}, func(p *Params) float64 { return float64(p.TopP) }},
	{"min_p", Range{0, 1}, func(p *Params) float64 { return float64(p.MinP) }},
	{"top_k", Range{0, math.Inf(1)}, func(p *Params) float64 { return float64(p.TopK) }},
	{"presence_penalty", Range{-2, 2}, func(p *Params) float64 { return float64(p.PresencePenalty) }},
	{"frequency_penalty", Range{-2, 2}, func(p *Params) float64 { return float64(p.FrequencyPenalty) }},
	{"repeat_penalty", Range{0, 10}, func(p *Params) float64 { return float64(p.RepeatPenalty) }},
}

// RangeOf returns the range of the parameter called name (see Ranges).
func RangeOf(name string) (Range, bool) {
	for _, r := range Ranges {
		if r.Name == name {
			return r.Range, true
		}
	}
	return Range{}, false
}

// ParamError is a sampling parameter outside its range.
type ParamError struct {
	Param string // the name in Ranges
	Err   error  // what is wrong with the value, without the name
}

func (e *ParamError) Error() string { return e.Param + ": " + e.Err.Error() }

// Validate checks every parameter against Ranges and returns a
// *ParamError for the first one outside its range.
func (p Params) Validate() error {
	for _, r := range Ranges {
		if err := r.Range.Check(r.get(&p)); err != nil {
			return &ParamError{Param: r.Name, Err: err}
		}
	}
	return nil
}
