package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file holds the built-in tasks as data: where each one's data lives
// on the Hugging Face Hub, and how a row becomes an item.

// Builtin is a built-in task: a file of a Hub dataset and how to read it.
type Builtin struct {
	Name string
	// Repo is the dataset ("datasets/ORG/NAME"), Revision its revision
	// ("" is main), File the file's path in it.
	Repo, Revision, File string
	Kind                 Kind
	// read turns the file's bytes into the task.
	read func(data []byte, t *Task) error
}

// Builtins lists the built-in tasks by name.
var Builtins = map[string]*Builtin{
	"gsm8k":   {Name: "gsm8k", Repo: "datasets/openai/gsm8k", File: "main/test-00000-of-00001.parquet", read: readGSM8K},
	"math500": {Name: "math500", Repo: "datasets/HuggingFaceH4/MATH-500", File: "test.jsonl", read: readMATH500},
	"mmlu":    {Name: "mmlu", Repo: "datasets/cais/mmlu", File: "all/test-00000-of-00001.parquet", read: readMMLU},
	"perplexity": {Name: "perplexity", Repo: "datasets/Salesforce/wikitext", File: "wikitext-2-raw-v1/test-00000-of-00001.parquet",
		Kind: Perplexity, read: readWikitext},
}

// reasonPrompt is what DeepSeek-R1's evaluation appends to math
// questions.
const reasonPrompt = "\nPlease reason step by step, and put your final answer within \\boxed{}."

// gsm8kRow is a row of openai/gsm8k: the answer ends in "#### N".
type gsm8kRow struct {
	Question string `parquet:"question"`
	Answer   string `parquet:"answer"`
}

func readGSM8K(data []byte, t *Task) error {
	rows, err := readParquet[gsm8kRow](data, "question", "answer")
	if err != nil {
		return err
	}
	for i, r := range rows {
		k := strings.LastIndex(r.Answer, "####")
		if k < 0 {
			return fmt.Errorf("row %d: the answer has no \"#### N\"", i)
		}
		t.Items = append(t.Items, Item{
			ID:     strconv.Itoa(i),
			Prompt: strings.TrimSpace(r.Question) + reasonPrompt,
			Answer: NormalizeNumber(r.Answer[k+4:]),
			Scorer: Numeric,
		})
	}
	return nil
}

// math500Row is a line of HuggingFaceH4/MATH-500's test.jsonl.
type math500Row struct {
	Problem  string `json:"problem"`
	Answer   string `json:"answer"`
	UniqueID string `json:"unique_id"`
}

func readMATH500(data []byte, t *Task) error {
	for n, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var r math500Row
		if err := json.Unmarshal(line, &r); err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		if r.Problem == "" || r.Answer == "" {
			return fmt.Errorf("line %d: no problem or answer", n+1)
		}
		id := r.UniqueID
		if id == "" {
			id = strconv.Itoa(len(t.Items))
		}
		t.Items = append(t.Items, Item{ID: id, Prompt: r.Problem + reasonPrompt, Answer: r.Answer, Scorer: Math})
	}
	return nil
}

// mmluRow is a row of cais/mmlu: answer is the index of the right choice.
// The choices are a LIST whose elements are named "element" (the
// standard layout, pyarrow since 13) or, in files written before,
// "item" (mmluItemRow).
type mmluRow struct {
	Question string   `parquet:"question"`
	Subject  string   `parquet:"subject"`
	Choices  []string `parquet:"choices,list"`
	Answer   int64    `parquet:"answer"`
}

type mmluItemRow struct {
	Question string `parquet:"question"`
	Subject  string `parquet:"subject"`
	Choices  struct {
		List []struct {
			Item string `parquet:"item"`
		} `parquet:"list"`
	} `parquet:"choices"`
	Answer int64 `parquet:"answer"`
}

func readMMLURows(data []byte) ([]mmluRow, error) {
	f, err := openParquet(data)
	if err != nil {
		return nil, err
	}
	switch {
	case !hasColumn(f, "question") || !hasColumn(f, "subject") || !hasColumn(f, "answer"):
		return nil, fmt.Errorf("no columns question, subject and answer")
	case hasColumn(f, "choices", "list", "element"):
		return readRows[mmluRow](f)
	case hasColumn(f, "choices", "list", "item"):
		old, err := readRows[mmluItemRow](f)
		rows := make([]mmluRow, len(old))
		for i, o := range old {
			rows[i] = mmluRow{Question: o.Question, Subject: o.Subject, Answer: o.Answer}
			for _, c := range o.Choices.List {
				rows[i].Choices = append(rows[i].Choices, c.Item)
			}
		}
		return rows, err
	}
	return nil, fmt.Errorf("no column choices.list.element or choices.list.item: not a list of choices")
}

func readMMLU(data []byte, t *Task) error {
	rows, err := readMMLURows(data)
	if err != nil {
		return err
	}
	for i, r := range rows {
		if len(r.Choices) < 2 || len(r.Choices) > 26 || r.Answer < 0 || int(r.Answer) >= len(r.Choices) {
			return fmt.Errorf("row %d: answer %d of %d choices", i, r.Answer, len(r.Choices))
		}
		subject := strings.ReplaceAll(r.Subject, "_", " ")
		var q strings.Builder
		q.WriteString(strings.TrimSpace(r.Question))
		letters := make([]string, len(r.Choices))
		for j, c := range r.Choices {
			fmt.Fprintf(&q, "\n%s. %s", Letter(j), c)
			letters[j] = " " + Letter(j)
		}
		t.Items = append(t.Items, Item{
			ID:      strconv.Itoa(i),
			Prompt:  fmt.Sprintf("The following is a multiple choice question about %s.\n\n%s\n\nAnswer with the letter of the correct choice.", subject, q.String()),
			Answer:  Letter(int(r.Answer)),
			Choices: r.Choices,
			Scorer:  Choice,
			// lm-evaluation-harness's mmlu: this context, and the
			// continuations " A", " B", ... (so acc_norm equals acc).
			LogLikContext: fmt.Sprintf("The following are multiple choice questions (with answers) about %s.\n\n%s\nAnswer:", subject, q.String()),
			LogLikChoices: letters,
		})
	}
	return nil
}

// wikitextRow is a row of Salesforce/wikitext: the rows together are the
// raw text (wiki.test.raw).
type wikitextRow struct {
	Text string `parquet:"text"`
}

func readWikitext(data []byte, t *Task) error {
	rows, err := readParquet[wikitextRow](data, "text")
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString(r.Text)
	}
	t.Text = b.String()
	return nil
}
