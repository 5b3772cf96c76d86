package eval

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/parquet-go/parquet-go"

	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/hub/hubtest"
	"github.com/qilin-ai/qilin/store"
)

// The rows as pyarrow writes the Hub's files: every column optional, the
// choices a standard LIST (repeated group "list" of "element"), extra
// columns the reader does not need.
type (
	gsm8kFileRow struct {
		Question *string `parquet:"question,optional"`
		Answer   *string `parquet:"answer,optional"`
	}
	mmluFileRow struct {
		Question *string  `parquet:"question,optional"`
		Subject  *string  `parquet:"subject,optional"`
		Choices  []string `parquet:"choices,list"`
		Answer   *int64   `parquet:"answer,optional"`
		Extra    *string  `parquet:"extra,optional"`
	}
	wikitextFileRow struct {
		Text *string `parquet:"text,optional"`
	}
)

func ptr[T any](v T) *T { return &v }

func writeParquet[T any](t *testing.T, rows []T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := parquet.Write(&b, rows); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testHub serves a tiny file for each built-in task.
func testHub(t *testing.T) *hubtest.Server {
	h := hubtest.New(t)
	h.Add("datasets/openai/gsm8k", "main/test-00000-of-00001.parquet", writeParquet(t, []gsm8kFileRow{
		{ptr("Tom has 3 apples and buys 4. How many?"), ptr("3 + 4 = <<3+4=7>>7\n#### 7")},
		{ptr("A pen costs $1,000. Two pens?"), ptr("2 * 1000 = 2000\n#### 2,000")},
	}))
	h.Add("datasets/HuggingFaceH4/MATH-500", "test.jsonl", []byte(
		`{"problem": "What is $1/2 + 1/4$?", "solution": "...", "answer": "\\frac{3}{4}", "subject": "Algebra", "level": 1, "unique_id": "test/algebra/1.json"}`+"\n"+
			`{"problem": "Compute $2^3$.", "solution": "...", "answer": "8", "subject": "Algebra", "level": 1, "unique_id": "test/algebra/2.json"}`+"\n"))
	h.Add("datasets/cais/mmlu", "all/test-00000-of-00001.parquet", writeParquet(t, []mmluFileRow{
		{ptr("Capital of France?"), ptr("world_geography"), []string{"Paris", "Rome", "Oslo", "Bern"}, ptr(int64(0)), ptr("x")},
		{ptr("2+2?"), ptr("math"), []string{"3", "4", "5", "6"}, ptr(int64(1)), nil},
	}))
	h.Add("datasets/Salesforce/wikitext", "wikitext-2-raw-v1/test-00000-of-00001.parquet", writeParquet(t, []wikitextFileRow{
		{ptr("")}, {ptr(" = Robert = \n")}, {ptr(" Robert is a bird . \n")},
	}))
	return h
}

func testSource(t *testing.T, h *hubtest.Server) *Source {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &Source{Client: &hub.Client{Endpoint: h.URL, Retries: 2, Backoff: time.Millisecond}, Store: s}
}

func TestLoadBuiltins(t *testing.T) {
	h := testHub(t)
	src := testSource(t, h)
	ctx := context.Background()
	ignore := cmpopts.IgnoreFields(Item{}, "Prompt", "LogLikContext")
	tests := []struct {
		name string
		want []Item
	}{
		{"gsm8k", []Item{{ID: "0", Answer: "7", Scorer: Numeric}, {ID: "1", Answer: "2000", Scorer: Numeric}}},
		{"math500", []Item{{ID: "test/algebra/1.json", Answer: "\\frac{3}{4}", Scorer: Math}, {ID: "test/algebra/2.json", Answer: "8", Scorer: Math}}},
		{"mmlu", []Item{
			{ID: "0", Answer: "A", Choices: []string{"Paris", "Rome", "Oslo", "Bern"}, Scorer: Choice, LogLikChoices: []string{" A", " B", " C", " D"}},
			{ID: "1", Answer: "B", Choices: []string{"3", "4", "5", "6"}, Scorer: Choice, LogLikChoices: []string{" A", " B", " C", " D"}},
		}},
	}
	for _, tt := range tests {
		task, err := Load(ctx, tt.name, src)
		if err != nil {
			t.Fatalf("Load(%s): %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, task.Items, ignore); diff != "" {
			t.Errorf("%s items (-want +got):\n%s", tt.name, diff)
		}
	}
	g, _ := Load(ctx, "gsm8k", src)
	if p := g.Items[0].Prompt; !strings.HasPrefix(p, "Tom has 3 apples") || !strings.Contains(p, "\\boxed{}") {
		t.Errorf("gsm8k prompt %q", p)
	}
	m, _ := Load(ctx, "mmlu", src)
	wantCtx := "The following are multiple choice questions (with answers) about world geography.\n\nCapital of France?\nA. Paris\nB. Rome\nC. Oslo\nD. Bern\nAnswer:"
	if got := m.Items[0].LogLikContext; got != wantCtx {
		t.Errorf("mmlu log-likelihood context %q, want %q", got, wantCtx)
	}
	p, err := Load(ctx, "perplexity", src)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != Perplexity || p.Text != " = Robert = \n Robert is a bird . \n" {
		t.Errorf("perplexity: kind %v, text %q", p.Kind, p.Text)
	}
	// Cached in the store: offline, the data still loads.
	src.Client.Offline = true
	if _, err := Load(ctx, "gsm8k", src); err != nil {
		t.Errorf("offline, cached: %v", err)
	}
	fresh := testSource(t, h)
	fresh.Client.Offline = true
	if _, err := Load(ctx, "gsm8k", fresh); !errors.Is(err, hub.ErrOffline) {
		t.Errorf("offline, not cached: %v, want ErrOffline", err)
	}
}

func TestLoadErrors(t *testing.T) {
	h := hubtest.New(t)
	h.Add("datasets/openai/gsm8k", "main/test-00000-of-00001.parquet", []byte("PAR1 not parquet PAR1"))
	h.Add("datasets/cais/mmlu", "all/test-00000-of-00001.parquet", writeParquet(t, []mmluFileRow{
		{ptr("q"), ptr("s"), []string{"a", "b"}, ptr(int64(5)), nil}}))
	h.Add("datasets/HuggingFaceH4/MATH-500", "train.jsonl", []byte("{}\n"))
	h.Add("datasets/Salesforce/wikitext", "wikitext-2-raw-v1/test-00000-of-00001.parquet", writeParquet(t, []gsm8kFileRow{{ptr("q"), ptr("a")}}))
	src := testSource(t, h)
	for spec, want := range map[string]string{
		"gsm8k":                       "parquet",
		"mmlu":                        "answer 5 of 2 choices",
		"math500":                     "has no file test.jsonl",
		"squad":                       "unknown task",
		"perplexity:/nonexistent.txt": "no such file",
	} {
		if _, err := Load(context.Background(), spec, src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want an error with %q", spec, err, want)
		}
	}
}

func TestLoadCustom(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "capitals.jsonl")
	os.WriteFile(path, []byte(`{"id": "a", "prompt": "6*7?", "answer": "42"}

{"id": "b", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of Italy?"}], "answer": "Rome", "choices": ["Paris", "Rome"]}
{"id": "c", "prompt": "Name it", "answer": "Oslo", "scorer": "exact"}
`), 0o644)
	task, err := Load(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{
		{ID: "a", Prompt: "6*7?", Answer: "42", Scorer: Numeric},
		{ID: "b", Messages: []Message{{"system", "Be brief."}, {"user", "Capital of Italy?"}}, Answer: "B", Choices: []string{"Paris", "Rome"}, Scorer: Choice,
			LogLikContext: "system: Be brief.\nuser: Capital of Italy?", LogLikChoices: []string{" Paris", " Rome"}},
		{ID: "c", Prompt: "Name it", Answer: "Oslo", Scorer: Exact},
	}
	if task.Name != "capitals" {
		t.Errorf("name %q, want capitals", task.Name)
	}
	if diff := cmp.Diff(want, task.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestParseItemsErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, "no items"},
		{`{"id": "a", "prompt": "p"}`, `no "answer"`},
		{`{"prompt": "p", "answer": "1"}`, `no "id"`},
		{`{"id": "a", "answer": "1"}`, `no "prompt" or "messages"`},
		{`{"id": "a", "prompt": "p", "messages": [{"role": "user", "content": "q"}], "answer": "1"}`, "both"},
		{`{"id": "a", "prompt": "p", "answer": "1", "scorer": "bleu"}`, "unknown scorer"},
		{`{"id": "a", "prompt": "p", "answer": "1", "extra": 1}`, "unknown field"},
		{`{"id": "a", "prompt": "p", "answer": "1"}` + "\n" + `{"id": "a", "prompt": "q", "answer": "2"}`, `line 2: id "a" already on line 1`},
		{`{"id": "a", "prompt": "p", "answer": "C", "choices": ["x", "y"]}`, "neither a choice's letter"},
		{`{"id": "a", "prompt": "p", "answer": "1", "scorer": "choice"}`, `without "choices"`},
		{`{"id": "a", "messages": [{"role": "tool", "content": "q"}], "answer": "1"}`, `role "tool"`},
		{`{"id": 1}`, "line 1"},
	}
	for _, tt := range tests {
		if _, err := ParseItems([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseItems(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func FuzzParseItems(f *testing.F) {
	f.Add([]byte(`{"id": "a", "prompt": "p", "answer": "1", "choices": ["x"]}`))
	f.Add([]byte(`{"id": "b", "messages": [], "answer": "A", "scorer": "choice"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseItems(data)
		if err == nil && len(items) == 0 {
			t.Fatal("no error and no items")
		}
	})
}

func FuzzReadParquet(f *testing.F) {
	var b bytes.Buffer
	parquet.Write(&b, []mmluFileRow{{ptr("q"), ptr("s"), []string{"a", "b"}, ptr(int64(1)), nil}})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var task Task
		readMMLU(data, &task)
	})
}

// TestMMLUListLayouts: the choices read the same from a LIST of
// "element"s (pyarrow since 13) and of "item"s (files written before).
func TestMMLUListLayouts(t *testing.T) {
	type item struct {
		Item *string `parquet:"item,optional"`
	}
	type oldRow struct {
		Question *string `parquet:"question,optional"`
		Subject  *string `parquet:"subject,optional"`
		Choices  struct {
			List []item `parquet:"list"`
		} `parquet:"choices,optional"`
		Answer *int64 `parquet:"answer,optional"`
	}
	old := oldRow{Question: ptr("Capital of France?"), Subject: ptr("geo"), Answer: ptr(int64(1))}
	old.Choices.List = []item{{ptr("Rome")}, {ptr("Paris")}}
	cur := mmluFileRow{Question: ptr("Capital of France?"), Subject: ptr("geo"), Choices: []string{"Rome", "Paris"}, Answer: ptr(int64(1))}
	var a, b Task
	if err := readMMLU(writeParquet(t, []oldRow{old}), &a); err != nil {
		t.Fatal(err)
	}
	if err := readMMLU(writeParquet(t, []mmluFileRow{cur}), &b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(b.Items, a.Items); diff != "" || len(a.Items) != 1 || a.Items[0].Choices[1] != "Paris" {
		t.Errorf("items from the item layout (-element +item):\n%s", diff)
	}
	var c Task
	if err := readMMLU(writeParquet(t, []gsm8kFileRow{{ptr("q"), ptr("a")}}), &c); err == nil {
		t.Error("a file without choices: no error")
	}
}
