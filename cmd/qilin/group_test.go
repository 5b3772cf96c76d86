package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

func TestGroupDispatch(t *testing.T) {
	var got []string
	g := &group{name: "grp", summary: "a test group", members: map[string]*command{
		"a": {name: "a", summary: "member a", run: func(_ context.Context, args []string, _, _ io.Writer) error {
			got = args
			return nil
		}},
	}}
	if err := g.run(context.Background(), []string{"a", "x", "--y"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "x --y" {
		t.Errorf("member got %q, want [x --y]", got)
	}
	var stderr bytes.Buffer
	err := g.run(context.Background(), []string{"nope"}, io.Discard, &stderr)
	if err == nil || !strings.Contains(err.Error(), `"grp nope"`) {
		t.Errorf("unknown member: err = %v", err)
	}
	if !strings.Contains(stderr.String(), "member a") {
		t.Errorf("help lists no members: %q", stderr.String())
	}
	if err := g.run(context.Background(), nil, io.Discard, io.Discard); err == nil {
		t.Error("no member named: want a usage error")
	}
}
