package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strconv"

	"github.com/qilin-ai/qilin/internal/jsonl"
)

//go:embed page.html compare.html common.html
var pages embed.FS

// funcs are the template's helpers: f writes a chart coordinate.
var funcs = template.FuncMap{
	"f": func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
}

// templates holds page.html (the report), compare.html (a comparison)
// and common.html (their style sheet and the chart).
var templates = template.Must(template.New("").Funcs(funcs).ParseFS(pages, "*.html"))

// Write reads DIR/results.json and DIR/samples.jsonl (which may be
// missing: the page then has no drill-down) and writes DIR/report.html.
func Write(dir string) error {
	r, err := load(dir)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, ReportFile), func(w io.Writer) error {
		return templates.ExecuteTemplate(w, "page.html", build(r))
	})
}

// writeFile renders a page in memory and then replaces name with it
// atomically, so that a reader never sees half a page.
func writeFile(name string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return fmt.Errorf("eval report: %w", err)
	}
	if err := jsonl.WriteFileAtomic(name, buf.Bytes()); err != nil {
		return fmt.Errorf("eval report: %w", err)
	}
	return nil
}
