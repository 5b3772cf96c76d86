package tokenizer

import (
	"fmt"

	"github.com/qilin-ai/qilin/gguf"
)

// FromGGUF builds the tokenizer described by a GGUF file's tokenizer.ggml.*
// metadata, with llama.cpp's defaults for keys the file leaves out.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	const p = "tokenizer.ggml."
	v := vocabSpec{
		model: f.String(p+"model", ""),
		pre:   f.String(p+"pre", ""),
		name:  f.String("general.name", ""),
		ids:   map[string]int64{},
		flags: map[string]bool{},
	}
	var err error
	if v.tokens, err = arrayKV(f, p+"tokens", f.Strings); err != nil {
		return nil, err
	}
	if v.tokens == nil {
		return nil, fmt.Errorf("tokenizer: no vocabulary (%stokens) in the file", p)
	}
	if v.scores, err = arrayKV(f, p+"scores", f.Float32s); err != nil {
		return nil, err
	}
	if v.types, err = arrayKV(f, p+"token_type", f.Int32s); err != nil {
		return nil, err
	}
	if v.merges, err = arrayKV(f, p+"merges", f.Strings); err != nil {
		return nil, err
	}
	for _, key := range specialKeys {
		val, ok := f.Get(p + key)
		if !ok {
			continue
		}
		id, ok := toInt64(val)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s%s: want an integer, have %T", p, key, val)
		}
		v.ids[key] = id
	}
	for _, key := range []string{"add_bos_token", "add_eos_token", "add_space_prefix"} {
		val, ok := f.Get(p + key)
		if !ok {
			continue
		}
		b, ok := val.(bool)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s%s: want a bool, have %T", p, key, val)
		}
		v.flags[key] = b
	}
	return newFromVocab(v)
}

// arrayKV reads an optional array with get, failing when the key exists
// but get cannot read it.
func arrayKV[T any](f *gguf.File, key string, get func(string) []T) ([]T, error) {
	val, ok := f.Get(key)
	if !ok {
		return nil, nil
	}
	a := get(key)
	if a == nil {
		if n, isArray := arrayLen(val); isArray && n == 0 {
			return []T{}, nil
		}
		return nil, fmt.Errorf("tokenizer: %s: unexpected type %T", key, val)
	}
	return a, nil
}

func arrayLen(v any) (int, bool) {
	switch a := v.(type) {
	case []string:
		return len(a), true
	case []float32:
		return len(a), true
	case []int32:
		return len(a), true
	case []any:
		return len(a), true
	}
	return 0, false
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case uint8:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x > 1<<62 {
			return -1, true
		}
		return int64(x), true
	}
	return 0, false
}
