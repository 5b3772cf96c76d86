package hub

import (
	"cmp"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Quant describes a quantization label found in GGUF file names.
type Quant struct {
	Label string
	// Bits is the approximate bits per weight of a whole model file
	// (llama.cpp's figures for Llama-3-8B), the measure of closeness.
	Bits float64
	// Runs reports whether qilin runs the tensor types of this mix.
	Runs bool
}

// Quants lists the labels Pick recognizes. When a repository lacks the
// requested quantization, Pick takes the runnable one closest to it in bits
// per weight, the larger on a tie: a Q4_K_M request falls back to Q4_K_S
// (4.36) before Q4_0 (4.33) or Q5_K_M (5.32). Labels that do not run here
// (IQ*, ternary, MXFP4, unsloth's dynamic *_XL) are taken only when asked
// for by name.
var Quants = []Quant{
	{"Q2_K", 2.95, true}, {"Q3_K_S", 3.40, true}, {"Q3_K_M", 3.73, true}, {"Q3_K_L", 4.02, true},
	{"Q4_0", 4.33, true}, {"Q4_K_S", 4.36, true}, {"Q4_K_M", 4.57, true}, {"Q4_1", 4.77, true},
	{"Q4_K_L", 4.90, true}, {"Q5_0", 5.19, true}, {"Q5_K_S", 5.20, true}, {"Q5_K_M", 5.32, true},
	{"Q5_1", 5.63, true}, {"Q5_K_L", 5.65, true}, {"Q6_K", 6.12, true}, {"Q6_K_L", 6.40, true},
	{"Q8_0", 7.94, true}, {"F16", 16, true}, {"BF16", 16, true}, {"F32", 32, true},
	{"TQ1_0", 1.69, false}, {"IQ1_S", 1.56, false}, {"IQ1_M", 1.75, false}, {"TQ2_0", 2.06, false},
	{"IQ2_XXS", 2.06, false}, {"IQ2_XS", 2.31, false}, {"IQ2_S", 2.5, false}, {"IQ2_M", 2.7, false},
	{"Q2_K_S", 2.8, false}, {"Q2_K_L", 3.2, false}, {"Q2_K_XL", 3.3, false}, {"IQ3_XXS", 3.06, false},
	{"IQ3_XS", 3.3, false}, {"IQ3_S", 3.44, false}, {"IQ3_M", 3.66, false}, {"Q3_K_XL", 4.1, false},
	{"IQ4_XS", 4.25, false}, {"IQ4_NL", 4.5, false}, {"MXFP4", 4.25, false}, {"Q4_0_4_4", 4.34, false},
	{"Q4_0_4_8", 4.34, false}, {"Q4_0_8_8", 4.34, false}, {"Q4_K_XL", 4.9, false},
	{"Q5_K_XL", 5.7, false}, {"Q6_K_XL", 6.6, false}, {"Q8_K_XL", 8.5, false},
}

// quantLabels holds every known label, longest first so that Q4_K_XL is
// seen before Q4_K.
var quantLabels = func() []string {
	var all []string
	for _, q := range Quants {
		all = append(all, q.Label)
	}
	slices.SortStableFunc(all, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return all
}()

// quantInfo returns the entry for label.
func quantInfo(label string) (Quant, bool) {
	i := slices.IndexFunc(Quants, func(q Quant) bool { return q.Label == label })
	if i < 0 {
		return Quant{}, false
	}
	return Quants[i], true
}

// QuantOf returns the quantization label in a GGUF file name
// ("qwen2.5-0.5b-instruct-q4_k_m.gguf" -> "Q4_K_M"), or "" if none is
// recognized. A label must stand between separators (start, end, '-',
// '.', '_'), so BF16 is not read as F16.
func QuantOf(name string) string {
	base := strings.ToUpper(path.Base(name))
	base = strings.TrimSuffix(base, ".GGUF")
	if m := splitSuffix.FindStringIndex(base + ".GGUF"); m != nil {
		base = base[:m[0]]
	}
	bestAt, best := -1, ""
	for _, q := range quantLabels {
		for from := 0; ; {
			i := strings.Index(base[from:], q)
			if i < 0 {
				break
			}
			i += from
			end := i + len(q)
			if (i == 0 || isSep(base[i-1])) && (end == len(base) || isSep(base[end])) && i > bestAt {
				bestAt, best = i, q // the last label in the name wins
			}
			from = i + 1
		}
	}
	return best
}

func isSep(c byte) bool { return c == '-' || c == '.' || c == '_' }

// splitSuffix matches the "-00001-of-00003.gguf" ending of split files.
var splitSuffix = regexp.MustCompile(`(?i)-(\d{5})-of-(\d{5})\.gguf$`)

// group is a model file: one GGUF, or every part of a split GGUF.
type group struct {
	key   string // path without the split suffix
	quant string
	parts []File // in part order
	total int    // parts announced by the names (1 when not split)
}

func (g *group) complete() bool { return len(g.parts) == g.total }

// groups collects the GGUF files of a listing into models, leaving out
// multimodal projectors (mmproj), which are not language models.
func groups(files []File) []*group {
	byKey := map[string]*group{}
	var out []*group
	for _, f := range files {
		lower := strings.ToLower(f.Path)
		if !strings.HasSuffix(lower, ".gguf") || strings.Contains(path.Base(lower), "mmproj") {
			continue
		}
		key, total, index := f.Path, 1, 1
		if m := splitSuffix.FindStringSubmatchIndex(f.Path); m != nil {
			key = f.Path[:m[0]]
			index, _ = strconv.Atoi(f.Path[m[2]:m[3]])
			total, _ = strconv.Atoi(f.Path[m[4]:m[5]])
		}
		g := byKey[key]
		if g == nil {
			g = &group{key: key, quant: QuantOf(f.Path), total: total}
			byKey[key] = g
			out = append(out, g)
		}
		if index >= 1 && index <= total && total == g.total &&
			!slices.ContainsFunc(g.parts, func(p File) bool { return p.Path == f.Path }) {
			g.parts = append(g.parts, f)
		}
	}
	for _, g := range out {
		slices.SortFunc(g.parts, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	}
	slices.SortFunc(out, func(a, b *group) int { return strings.Compare(a.key, b.key) })
	return out
}

// Pick chooses the files to download from a repository listing: those of
// the GGUF model with quantization want (case-insensitive), else of the
// closest runnable one (see Quants). All parts of a split model are returned, in
// order. When several files carry the chosen label, the first path in
// sorted order wins. Pick returns the label of the files chosen ("" if the
// name carries none, possible only for a repository holding one model).
func Pick(files []File, want string) ([]File, string, error) {
	gs := slices.DeleteFunc(groups(files), func(g *group) bool { return !g.complete() })
	if len(gs) == 0 {
		return nil, "", fmt.Errorf("no complete GGUF file in the repository")
	}
	want = strings.ToUpper(want)
	for _, g := range gs {
		if g.quant == want {
			return g.parts, g.quant, nil
		}
	}
	if len(gs) == 1 && gs[0].quant == "" {
		return gs[0].parts, "", nil
	}
	target, ok := quantInfo(want)
	if !ok {
		target, _ = quantInfo(DefaultQuant)
	}
	var best *group
	var bestQ Quant
	for _, g := range gs {
		q, ok := quantInfo(g.quant)
		if !ok || !q.Runs {
			continue
		}
		d, bd := math.Abs(q.Bits-target.Bits), math.Abs(bestQ.Bits-target.Bits)
		if best == nil || d < bd || d == bd && q.Bits > bestQ.Bits {
			best, bestQ = g, q
		}
	}
	if best == nil {
		return nil, "", fmt.Errorf("no %s file, and no quantization qilin runs (available: %s); name one with :QUANT", want, available(gs, false))
	}
	return best.parts, best.quant, nil
}

// PickFile returns the listed file at path p, with its sibling parts when
// it is part of a split model.
func PickFile(files []File, p string) ([]File, error) {
	for _, g := range groups(files) {
		if !slices.ContainsFunc(g.parts, func(f File) bool { return f.Path == p }) {
			continue
		}
		if !g.complete() {
			return nil, fmt.Errorf("split file %q: %d of its %d parts are listed", p, len(g.parts), g.total)
		}
		return g.parts, nil
	}
	return nil, fmt.Errorf("file %q %w (GGUF files: %s)", p, ErrNotFound, available(groups(files), true))
}

// available lists the groups' labels, or first paths, for error messages.
func available(gs []*group, paths bool) string {
	var names []string
	for _, g := range gs {
		n := g.quant
		if n == "" || paths {
			n = g.parts[0].Path
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func abs(x int) int { return max(x, -x) }
