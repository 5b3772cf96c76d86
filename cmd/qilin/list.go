package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/internal/builtinmodel"
	"github.com/qilin-ai/qilin/internal/hub"
	"github.com/qilin-ai/qilin/internal/termui"
	"github.com/qilin-ai/qilin/store"
)

func init() {
	register(&command{
		name:    "list",
		summary: "list the models in the local store, or the short names (--available)",
		run:     runList,
	})
}

// availableModel is one line of qilin list --available --json.
type availableModel struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Note   string `json:"note"`
	Pulled bool   `json:"pulled"`
}

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("list", "[--available] [--json]", stderr)
	available := fs.Bool("available", false, "list the built-in short names instead")
	asJSON := fs.Bool("json", false, "print the store's manifests as JSON instead of a table (without the built-in model)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("list takes no arguments, got %q", pos)
	}
	s, err := store.OpenDefault()
	if err != nil {
		return err
	}
	ms, listErr := s.List()
	if *available {
		return listAvailable(ms, *asJSON, stdout)
	}
	for _, m := range ms {
		if m.Arch == "" {
			m.Arch = archFromHeader(s, m)
		}
	}
	if *asJSON {
		if ms == nil {
			ms = []*store.Manifest{}
		}
		if err := writeListJSON(stdout, ms); err != nil {
			return err
		}
		return listErr
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tQUANT\tARCH\tLAST USED")
	now := time.Now()
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.Name, termui.Bytes(m.Size), orUnknown(m.Quant), orUnknown(m.Arch), termui.Ago(m.LastUsed, now))
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", builtinmodel.Name, termui.Bytes(builtinmodel.Size()), builtinmodel.Quant, builtinmodel.Arch, "built in (the default model)")
	tw.Flush()
	if len(ms) == 0 && listErr == nil {
		fmt.Fprintln(stderr, "no models yet: try qilin pull deepseek-r1:1.5b (qilin list --available shows more)")
	}
	return listErr
}

func listAvailable(ms []*store.Manifest, asJSON bool, stdout io.Writer) error {
	pulled := map[string]bool{}
	for _, m := range ms {
		pulled[m.Name] = true
	}
	rows := make([]availableModel, len(hub.ShortNames))
	for i, sn := range hub.ShortNames {
		rows[i] = availableModel{Name: sn.Name, Ref: sn.Ref, Note: sn.Note, Pulled: pulled[sn.Name]}
	}
	if asJSON {
		return writeListJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPULLED\tFROM\tDESCRIPTION")
	for _, r := range rows {
		mark := ""
		if r.Pulled {
			mark = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, mark, r.Ref, r.Note)
	}
	return tw.Flush()
}

// archFromHeader reads general.architecture from a stored model's first
// file, for manifests written without it; "" when unreadable.
func archFromHeader(s *store.Store, m *store.Manifest) string {
	path, ok, err := s.Blob(m.Files[0].Digest)
	if err != nil || !ok {
		return ""
	}
	f, err := gguf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return f.Arch()
}

func writeListJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
