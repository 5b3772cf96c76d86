package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/qilin-ai/qilin/grammar"
)

func init() {
	registerIn("grammar", "structured output: check grammars and JSON Schemas", &command{
		name: "check", summary: "print the GBNF a JSON Schema compiles to, or check a GBNF grammar", run: runGrammarCheck})
}

func runGrammarCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("grammar check", "(--schema FILE | --grammar FILE)", stderr)
	var cf constraintFlags
	cf.register(fs, "schema")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("unexpected arguments %q", pos)
	}
	if cf.schema == "" && cf.grammar == "" {
		return usageError("give --schema FILE or --grammar FILE")
	}
	if cf.schema != "" && cf.grammar != "" {
		return usageError("--schema and --grammar cannot be used together")
	}
	if cf.schema != "" {
		b, err := readInput(cf.schema)
		if err != nil {
			return err
		}
		src, err := grammar.SchemaToGBNF(b)
		if err != nil {
			return fmt.Errorf("%s: %w", cf.schema, err)
		}
		if _, err := grammar.Parse(src); err != nil {
			return fmt.Errorf("%s: compiled grammar: %w", cf.schema, err)
		}
		_, err = io.WriteString(stdout, src)
		return err
	}
	if _, err := cf.compile(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n", cf.grammar)
	return nil
}

// constraintFlags are the flags that hold an answer to a grammar: run's
// --json-schema and --grammar (grammar check's --schema and --grammar).
type constraintFlags struct {
	schema, grammar string // files; "-" is standard input
}

func (c *constraintFlags) register(fs *flag.FlagSet, schemaFlag string) {
	fs.StringVar(&c.schema, schemaFlag, "", "JSON Schema `FILE` (- for standard input) the answer must follow")
	fs.StringVar(&c.grammar, "grammar", "", "GBNF grammar `FILE` (llama.cpp's format, root rule \"root\"; - for standard input) the answer must follow")
}

// compile returns the grammar the flags name, nil for none.
func (c *constraintFlags) compile() (*grammar.Grammar, error) {
	switch {
	case c.schema != "" && c.grammar != "":
		return nil, usageError("--json-schema and --grammar cannot be used together")
	case c.schema != "":
		b, err := readInput(c.schema)
		if err != nil {
			return nil, err
		}
		g, err := grammar.FromJSONSchema(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.schema, err)
		}
		return g, nil
	case c.grammar != "":
		b, err := readInput(c.grammar)
		if err != nil {
			return nil, err
		}
		g, err := grammar.Parse(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.grammar, err)
		}
		return g, nil
	}
	return nil, nil
}

// readInput reads a file, or standard input for "-".
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}
