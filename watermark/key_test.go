package watermark

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewKeyRoundTrip(t *testing.T) {
	var keys []Key
	for _, s := range []Scheme{Gumbel, RedGreen} {
		k, err := NewKey(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		if k.Context != DefaultContext || len(k.Secret) != SecretBytes {
			t.Errorf("NewKey(%s): context %d, %d secret bytes", s, k.Context, len(k.Secret))
		}
		keys = append(keys, k)
	}
	if keys[1].Gamma != DefaultGamma || keys[1].Delta != DefaultDelta {
		t.Errorf("redgreen key: gamma %v delta %v", keys[1].Gamma, keys[1].Delta)
	}
	if bytes.Equal(keys[0].Secret, keys[1].Secret) || keys[0].ID == keys[1].ID {
		t.Error("two new keys share a secret or an id")
	}
	var buf bytes.Buffer
	if err := WriteKeys(&buf, keys); err != nil {
		t.Fatal(err)
	}
	got, err := ParseKeys(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(keys, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if s := keys[0].String(); strings.Contains(s, hex.EncodeToString(keys[0].Secret)) {
		t.Errorf("String shows the secret: %s", s)
	}
}

func TestParseKeysSingleObject(t *testing.T) {
	in := `{"id":"k1","scheme":"redgreen","secret":"` + strings.Repeat("ab", 32) + `","context":2}`
	keys, err := ParseKeys(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{{ID: "k1", Scheme: RedGreen, Secret: bytes.Repeat([]byte{0xab}, 32), Context: 2, Gamma: DefaultGamma, Delta: DefaultDelta}}
	if d := cmp.Diff(want, keys); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseKeysErrors(t *testing.T) {
	sec := strings.Repeat("ab", 32)
	tests := []struct{ name, in, want string }{
		{"not json", `hello`, "key file"},
		{"empty list", `{"keys":[]}`, "no keys"},
		{"unknown field", `{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":4,"colour":1}`, "unknown field"},
		{"bad hex", `{"id":"a","scheme":"gumbel","secret":"zz","context":4}`, "hex"},
		{"short secret", `{"id":"a","scheme":"gumbel","secret":"abcd","context":4}`, "at least 16"},
		{"bad scheme", `{"id":"a","scheme":"purple","secret":"` + sec + `","context":4}`, "unknown scheme"},
		{"zero context", `{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":0}`, "context 0"},
		{"huge context", `{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":1000}`, "context 1000"},
		{"bad id", `{"id":"a b\n","scheme":"gumbel","secret":"` + sec + `","context":4}`, "key id"},
		{"gamma on gumbel", `{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":4,"gamma":0.5}`, "redgreen"},
		{"gamma 1", `{"id":"a","scheme":"redgreen","secret":"` + sec + `","context":4,"gamma":1}`, "gamma"},
		{"duplicate id", `{"keys":[{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":4},{"id":"a","scheme":"gumbel","secret":"` + sec + `","context":4}]}`, "twice"},
		{"trailing", `{"keys":[]} {}`, "key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeys(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
			if strings.Contains(err.Error(), sec) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func FuzzParseKeys(f *testing.F) {
	f.Add(`{"keys":[{"id":"a","scheme":"gumbel","secret":"` + strings.Repeat("ab", 32) + `","context":4}]}`)
	f.Add(`{"id":"k","scheme":"redgreen","secret":"00","context":1,"gamma":0.5,"delta":1}`)
	f.Fuzz(func(t *testing.T, in string) {
		keys, err := ParseKeys(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, k := range keys {
			if err := k.Validate(); err != nil {
				t.Fatalf("accepted an invalid key: %v", err)
			}
			Detect([]int{1, 2, 3, 4, 5, 6, 7}, []Key{k}, Options{})
		}
	})
}
