package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/qilin-ai/qilin/gguf"
	"github.com/qilin-ai/qilin/model"
	"github.com/qilin-ai/qilin/quant"
)

func init() {
	register(&command{
		name:    "show",
		summary: "describe a GGUF model: architecture, size, quantization, tokenizer",
		run:     runShow,
	})
}

// modelInfo is what qilin show reports; its JSON form is the --json output.
type modelInfo struct {
	Path            string       `json:"path"`
	Version         uint32       `json:"gguf_version"`
	FileSize        int64        `json:"file_size"`
	Architecture    string       `json:"architecture"`
	Name            string       `json:"name,omitempty"`
	Parameters      int64        `json:"parameters"`
	FileType        string       `json:"file_type,omitempty"`
	Quantization    []quantShare `json:"quantization"`
	ContextLength   uint64       `json:"context_length,omitempty"`
	EmbeddingLength uint64       `json:"embedding_length,omitempty"`
	BlockCount      uint64       `json:"block_count,omitempty"`
	HeadCount       uint64       `json:"head_count,omitempty"`
	HeadCountKV     uint64       `json:"head_count_kv,omitempty"`
	ExpertCount     uint64       `json:"expert_count,omitempty"`
	ExpertUsedCount uint64       `json:"expert_used_count,omitempty"`
	// KVCacheBytesPerToken is what a sequence's cache grows by per token:
	// all layers, f16 rows as wide as each layer's attention keeps (MLA:
	// one latent row); absent for an architecture qilin does not run.
	KVCacheBytesPerToken int64 `json:"kv_cache_bytes_per_token,omitempty"`
	// LayerPattern is one letter per layer of a hybrid model: R for a
	// recurrent (Gated DeltaNet) layer, A for attention; StateBytes is the
	// fixed-size recurrent state a sequence holds (f32), whatever its length.
	LayerPattern      string `json:"layer_pattern,omitempty"`
	StateBytes        int64  `json:"state_bytes_per_sequence,omitempty"`
	TokenizerModel    string `json:"tokenizer_model,omitempty"`
	TokenizerPre      string `json:"tokenizer_pre,omitempty"`
	VocabSize         int    `json:"vocab_size"`
	ChatTemplate      bool   `json:"chat_template"`
	Tensors           int    `json:"tensors"`
	MetadataKeyValues int    `json:"metadata_kv"`
}

// quantShare is how many tensors, and bytes of them, have one type.
type quantShare struct {
	Type    string `json:"type"`
	Tensors int    `json:"tensors"`
	Bytes   int64  `json:"bytes"`
}

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("show", "[--json] FILE", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	model := fs.String("model", "", "model `FILE` (instead of the positional FILE)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	ref := *model
	switch {
	case len(pos) == 1 && ref == "":
		ref = pos[0]
	case len(pos) > 1 || (len(pos) == 1 && ref != ""):
		return usageError("show takes one model, got %q", append(pos, ref))
	}
	mf, err := resolveModel(ref)
	if err != nil {
		return err
	}
	f, err := mf.open(false)
	if err != nil {
		return err
	}
	defer f.Close()
	info := describe(mf.Path, f)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	}
	return info.writeTable(stdout)
}

// describe gathers the report on f, opened from path.
func describe(path string, f *gguf.File) modelInfo {
	info := modelInfo{
		Path:              path,
		Version:           f.Version,
		FileSize:          f.Size,
		Architecture:      f.Arch(),
		Name:              f.String("general.name", ""),
		FileType:          f.FileTypeName(),
		ContextLength:     archUint(f, "context_length"),
		EmbeddingLength:   archUint(f, "embedding_length"),
		BlockCount:        archUint(f, "block_count"),
		HeadCount:         archUint(f, "attention.head_count"),
		HeadCountKV:       archUint(f, "attention.head_count_kv"),
		ExpertCount:       archUint(f, "expert_count"),
		ExpertUsedCount:   archUint(f, "expert_used_count"),
		TokenizerModel:    f.String("tokenizer.ggml.model", ""),
		TokenizerPre:      f.String("tokenizer.ggml.pre", ""),
		VocabSize:         len(f.Strings("tokenizer.ggml.tokens")),
		ChatTemplate:      f.String("tokenizer.chat_template", "") != "",
		Tensors:           len(f.Tensors),
		MetadataKeyValues: len(f.KV),
		Quantization:      []quantShare{},
	}
	if info.VocabSize == 0 {
		info.VocabSize = int(archUint(f, "vocab_size"))
	}
	if c, err := model.ReadConfig(f); err == nil {
		info.KVCacheBytesPerToken = c.CacheBytesPerToken()
		if info.StateBytes = c.StateBytes(); info.StateBytes > 0 {
			info.LayerPattern = c.LayerPattern()
		}
	}
	byType := map[quant.Type]*quantShare{}
	for _, t := range f.Tensors {
		info.Parameters += t.NumElements()
		s := byType[t.Type]
		if s == nil {
			s = &quantShare{Type: t.Type.String()}
			byType[t.Type] = s
		}
		s.Tensors++
		s.Bytes += int64(len(t.Data))
	}
	for _, s := range byType {
		info.Quantization = append(info.Quantization, *s)
	}
	slices.SortFunc(info.Quantization, func(a, b quantShare) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Type, b.Type))
	})
	if info.FileType == "" && len(info.Quantization) > 0 {
		// No general.file_type: name the type holding the most bytes.
		info.FileType = "mostly " + info.Quantization[0].Type
	}
	return info
}

// archUint reads the architecture key suffix; a per-layer array (some
// models vary head counts by layer) reports its largest value.
func archUint(f *gguf.File, suffix string) uint64 {
	key := f.ArchKey(suffix)
	if v := f.Uint(key, 0); v != 0 {
		return v
	}
	var m uint64
	for _, v := range f.Int32s(key) {
		m = max(m, uint64(max(v, 0)))
	}
	return m
}

// writeTable prints info as aligned "field  value" lines.
func (info modelInfo) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	num := func(k string, v uint64) {
		if v != 0 {
			row(k, "%d", v)
		}
	}
	row("file", "%s", info.Path)
	row("size", "%s (%d bytes, GGUF v%d)", humanBytes(info.FileSize), info.FileSize, info.Version)
	row("architecture", "%s", orDash(info.Architecture))
	if info.Name != "" {
		row("name", "%s", info.Name)
	}
	row("parameters", "%s (%d)", humanCount(info.Parameters), info.Parameters)
	row("file type", "%s", orDash(info.FileType))
	var total int64
	for _, q := range info.Quantization {
		total += q.Bytes
	}
	key := "quantization"
	for _, q := range info.Quantization {
		row(key, "%-7s %4d tensors %11s %5.1f%%", q.Type, q.Tensors, humanBytes(q.Bytes), 100*float64(q.Bytes)/float64(max(total, 1)))
		key = ""
	}
	if key != "" {
		row(key, "-")
	}
	num("context length", info.ContextLength)
	num("embedding", info.EmbeddingLength)
	num("layers", info.BlockCount)
	num("heads", info.HeadCount)
	num("kv heads", info.HeadCountKV)
	num("experts", info.ExpertCount)
	num("experts used", info.ExpertUsedCount)
	if info.LayerPattern != "" {
		row("layer pattern", "%s (R Gated DeltaNet, A attention)", periodic(info.LayerPattern))
	}
	if info.KVCacheBytesPerToken > 0 {
		row("kv cache", "%s per token (f16)", humanBytes(info.KVCacheBytesPerToken))
	}
	if info.StateBytes > 0 {
		row("recurrent state", "%s per sequence (f32, whatever its length)", humanBytes(info.StateBytes))
	}
	tok := orDash(info.TokenizerModel)
	if info.TokenizerPre != "" {
		tok += ", pre-tokenizer " + info.TokenizerPre
	}
	row("tokenizer", "%s", tok)
	row("vocab size", "%d", info.VocabSize)
	row("chat template", "%s", map[bool]string{true: "yes", false: "no"}[info.ChatTemplate])
	row("tensors", "%d", info.Tensors)
	row("metadata", "%d keys", info.MetadataKeyValues)
	return tw.Flush()
}

// periodic writes a layer pattern as its shortest repeating unit and the
// count, e.g. "RRRA x 6", or as is when it does not repeat.
func periodic(p string) string {
	for n := 1; n < len(p); n++ {
		if len(p)%n == 0 && strings.Repeat(p[:n], len(p)/n) == p {
			return fmt.Sprintf("%s x %d", p[:n], len(p)/n)
		}
	}
	return p
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// humanCount formats a count with one decimal and a K/M/B/T suffix, e.g.
// 494032768 as "494.0M".
func humanCount(n int64) string {
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "K"}} {
		if float64(n) >= u.div {
			return fmt.Sprintf("%.1f%s", float64(n)/u.div, u.suffix)
		}
	}
	return fmt.Sprint(n)
}

// humanBytes formats a byte count in binary units, e.g. "1.1 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
