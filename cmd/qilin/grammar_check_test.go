package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/qilin-ai/qilin/grammar"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const cliSchema = `{"type":"object","properties":{"name":{"type":"string","maxLength":8},"n":{"type":"integer","minimum":0,"maximum":99},"tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","n"],"additionalProperties":false}`

func TestGrammarCheck(t *testing.T) {
	schema := writeFile(t, t.TempDir(), "s.json", cliSchema)
	out, errs, code := runCLI(t, "grammar", "check", "--schema", schema)
	want, err := grammar.SchemaToGBNF([]byte(cliSchema))
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || out != want {
		t.Errorf("check --schema: exit %d, stderr %q, output\n%s\nwant\n%s", code, errs, out, want)
	}
	gbnf := writeFile(t, t.TempDir(), "g.gbnf", out)
	if out, errs, code := runCLI(t, "grammar", "check", "--grammar", gbnf); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("check --grammar of the compiled schema: exit %d, %q %q", code, out, errs)
	}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unsupported keyword", []string{"--schema", writeFile(t, t.TempDir(), "bad.json", `{"type":"object","properties":{"a":{"not":{}}}}`)}, `not`},
		{"bad gbnf", []string{"--grammar", writeFile(t, t.TempDir(), "bad.gbnf", `root ::= "a" (`)}, "bad.gbnf"},
		{"no root", []string{"--grammar", writeFile(t, t.TempDir(), "noroot.gbnf", `x ::= "a"`)}, "root"},
		{"nothing", nil, "--schema"},
		{"both", []string{"--schema", schema, "--grammar", gbnf}, "together"},
		{"missing file", []string{"--schema", filepath.Join(t.TempDir(), "none.json")}, "none.json"},
	} {
		_, errs, code := runCLI(t, append([]string{"grammar", "check"}, c.args...)...)
		if code == 0 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q, want an error with %q", c.name, code, errs, c.want)
		}
	}
}

// TestRunConstrained: qilin run with --json-schema or --grammar holds the
// built-in model's answer to it at temperature 0 and 1.
func TestRunConstrained(t *testing.T) {
	schema := writeFile(t, t.TempDir(), "s.json", cliSchema)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(cliSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("s.json", doc); err != nil {
		t.Fatal(err)
	}
	v, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	gbnf := writeFile(t, t.TempDir(), "g.gbnf", `root ::= ("yes" | "no") ", " [0-9]{3}`)
	for _, temp := range []string{"0", "1"} {
		for _, seed := range []string{"1", "2"} {
			out, errs, code := runCLI(t, "run", "-p", "Once upon a time", "-n", "120", "--temp", temp, "--seed", seed, "--json-schema", schema, "--json")
			var res runResult
			if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
				t.Fatalf("run --json-schema: exit %d, %q %q", code, out, errs)
			}
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(res.Text))
			if err != nil || res.StopReason != "stop" {
				t.Errorf("T=%s seed %s: %q (%s) is no JSON: %v", temp, seed, res.Text, res.StopReason, err)
			} else if err := v.Validate(inst); err != nil {
				t.Errorf("T=%s seed %s: %q does not validate: %v", temp, seed, res.Text, err)
			}
			out, errs, code = runCLI(t, "run", "-p", "Once upon a time", "-n", "40", "--temp", temp, "--seed", seed, "--grammar", gbnf)
			if ok, _ := regexp.MatchString(`^(yes|no), [0-9]{3}\n$`, out); code != 0 || !ok {
				t.Errorf("run --grammar T=%s: exit %d, %q %q", temp, code, out, errs)
			}
		}
	}
	if _, errs, code := runCLI(t, "run", "-p", "x", "--json-schema", schema, "--grammar", gbnf); code == 0 || !strings.Contains(errs, "together") {
		t.Errorf("both flags: exit %d, %q", code, errs)
	}
}
