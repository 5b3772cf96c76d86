package watermark

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
)

// Scheme names a watermarking scheme.
type Scheme string

// The schemes a key may select.
const (
	// Gumbel is Aaronson's Gumbel-max scheme: the next token is the one that
	// maximizes u^(1/p) over the sampler's final distribution p, with u the
	// keyed uniforms of the context window. Each draw still follows p exactly
	// (distortion-free); detection sums -ln(1-u) over the text's tokens.
	Gumbel Scheme = "gumbel"
	// RedGreen is Kirchenbauer et al.'s scheme: a keyed fraction Gamma of the
	// vocabulary is green for each context window, and Delta is added to
	// the logits of green tokens; detection counts green tokens.
	RedGreen Scheme = "redgreen"
)

// Defaults for new keys: the context width is vLLM's default, Gamma and
// Delta are Kirchenbauer et al.'s recommended values.
const (
	DefaultContext = 4
	DefaultGamma   = 0.25
	DefaultDelta   = 2.0
	// MaxContext bounds the context width a key file may ask for.
	MaxContext = 64
	// SecretBytes is the length of a generated secret.
	SecretBytes = 32
)

// Key is one watermarking key. Its Secret must stay with whoever marks and
// tests text: String and the error messages of this package never show it.
type Key struct {
	ID      string  `json:"id"`
	Scheme  Scheme  `json:"scheme"`
	Secret  Secret  `json:"secret"`
	Context int     `json:"context"`
	Gamma   float64 `json:"gamma,omitempty"` // redgreen: green fraction of the vocabulary
	Delta   float64 `json:"delta,omitempty"` // redgreen: bias added to green logits
}

// Secret is a key's secret bytes, written in JSON as a hex string.
type Secret []byte

// MarshalJSON writes the secret as hex.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(s)) }

// UnmarshalJSON reads a hex string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var h string
	if err := json.Unmarshal(b, &h); err != nil {
		return errors.New("secret: want a hex string")
	}
	d, err := hex.DecodeString(h)
	if err != nil {
		return errors.New("secret: not valid hex")
	}
	*s = d
	return nil
}

// String names the key without its secret.
func (k Key) String() string { return fmt.Sprintf("%s (%s, context %d)", k.ID, k.Scheme, k.Context) }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate checks the key's fields, filling Gamma and Delta of a redgreen
// key that leaves them out.
func (k *Key) Validate() error {
	if !idPattern.MatchString(k.ID) {
		return fmt.Errorf("key id %q: want 1-64 letters, digits, '.', '_' or '-' (it goes into HTTP headers)", k.ID)
	}
	if len(k.Secret) < 16 {
		return fmt.Errorf("key %s: secret of %d bytes, want at least 16", k.ID, len(k.Secret))
	}
	if k.Context < 1 || k.Context > MaxContext {
		return fmt.Errorf("key %s: context %d, want 1..%d", k.ID, k.Context, MaxContext)
	}
	switch k.Scheme {
	case Gumbel:
		if k.Gamma != 0 || k.Delta != 0 {
			return fmt.Errorf("key %s: gamma and delta belong to redgreen keys", k.ID)
		}
	case RedGreen:
		if k.Gamma == 0 {
			k.Gamma = DefaultGamma
		}
		if k.Delta == 0 {
			k.Delta = DefaultDelta
		}
		if !(k.Gamma > 0 && k.Gamma < 1) {
			return fmt.Errorf("key %s: gamma %v, want 0 < gamma < 1", k.ID, k.Gamma)
		}
		if !(k.Delta > 0 && k.Delta <= 20) {
			return fmt.Errorf("key %s: delta %v, want 0 < delta <= 20", k.ID, k.Delta)
		}
	default:
		return fmt.Errorf("key %s: unknown scheme %q (want %q or %q)", k.ID, k.Scheme, Gumbel, RedGreen)
	}
	return nil
}

// NewKey makes a key with a fresh random secret and id. context <= 0 means
// DefaultContext; a redgreen key gets DefaultGamma and DefaultDelta.
func NewKey(scheme Scheme, context int) (Key, error) {
	if context <= 0 {
		context = DefaultContext
	}
	secret := make([]byte, SecretBytes)
	id := make([]byte, 6)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return Key{}, err
	}
	if _, err := io.ReadFull(rand.Reader, id); err != nil {
		return Key{}, err
	}
	k := Key{ID: "wm-" + hex.EncodeToString(id), Scheme: scheme, Secret: secret, Context: context}
	return k, k.Validate()
}

// KeyFile is what a key file holds: {"keys": [KEY, ...]}.
type KeyFile struct {
	Keys []Key `json:"keys"`
}

// maxKeyFile bounds what ParseKeys reads.
const maxKeyFile = 1 << 20

// ParseKeys reads a key file: {"keys": [...]} or a single key object. Every
// key is validated and ids must be distinct.
func ParseKeys(r io.Reader) ([]Key, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("key file larger than %d bytes", maxKeyFile)
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	var keys []Key
	if _, ok := probe["keys"]; ok {
		var kf KeyFile
		if err := strictUnmarshal(b, &kf); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		keys = kf.Keys
	} else {
		var k Key
		if err := strictUnmarshal(b, &k); err != nil {
			return nil, fmt.Errorf("key file: %w", err)
		}
		keys = []Key{k}
	}
	if len(keys) == 0 {
		return nil, errors.New("key file holds no keys")
	}
	seen := map[string]bool{}
	for i := range keys {
		if err := keys[i].Validate(); err != nil {
			return nil, fmt.Errorf("key file: key %d: %w", i+1, err)
		}
		if seen[keys[i].ID] {
			return nil, fmt.Errorf("key file: id %q appears twice", keys[i].ID)
		}
		seen[keys[i].ID] = true
	}
	return keys, nil
}

func strictUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// LoadKeys reads the key file at path.
func LoadKeys(path string) ([]Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	keys, err := ParseKeys(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// WriteKeys writes keys as an indented key file.
func WriteKeys(w io.Writer, keys []Key) error {
	b, err := json.MarshalIndent(KeyFile{Keys: keys}, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// String hides the secret's bytes, so that printing a Key or a Secret by
// mistake shows no secret.
func (s Secret) String() string { return "[secret]" }
