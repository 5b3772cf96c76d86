package hub

import (
	"fmt"
	"strings"
)

// DefaultQuant is the quantization pulled when a reference names none.
const DefaultQuant = "Q4_K_M"

// Ref is a parsed model reference.
type Ref struct {
	// Name is the reference's canonical form, the model's name in the
	// store: a short name as listed in ShortNames, "hf.co/ORG/REPO:QUANT"
	// (QUANT upper-case, DefaultQuant when none was given) or
	// "hf.co/ORG/REPO/PATH.gguf".
	Name string
	// Repo is the Hugging Face repository, "ORG/REPO".
	Repo string
	// Quant is the wanted quantization; empty when File is set.
	Quant string
	// File is the path of one GGUF file in Repo, when the reference names one.
	File string
}

// ShortName maps a memorable name to a Hub reference.
type ShortName struct {
	Name string // e.g. "deepseek-r1:1.5b"
	Ref  string // e.g. "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M"
	Note string // one line for qilin list --available
}

// ShortNames is the built-in table of short names, in display order.
var ShortNames = []ShortName{
	{"deepseek-r1:1.5b", "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF:Q4_K_M", "DeepSeek-R1 distilled into Qwen2.5-Math-1.5B"},
	{"deepseek-r1:7b", "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M", "DeepSeek-R1 distilled into Qwen2.5-Math-7B"},
	{"deepseek-r1:8b", "hf.co/unsloth/DeepSeek-R1-Distill-Llama-8B-GGUF:Q4_K_M", "DeepSeek-R1 distilled into Llama-3.1-8B"},
	{"deepseek-r1:14b", "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-14B-GGUF:Q4_K_M", "DeepSeek-R1 distilled into Qwen2.5-14B"},
	{"deepseek-r1:32b", "hf.co/unsloth/DeepSeek-R1-Distill-Qwen-32B-GGUF:Q4_K_M", "DeepSeek-R1 distilled into Qwen2.5-32B"},
	{"deepseek-r1:8b-0528", "hf.co/unsloth/DeepSeek-R1-0528-Qwen3-8B-GGUF:Q4_K_M", "DeepSeek-R1-0528 distilled into Qwen3-8B"},
	{"qwen2.5:0.5b", "hf.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", "Qwen2.5 0.5B Instruct"},
	{"qwen2.5:1.5b", "hf.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF:Q4_K_M", "Qwen2.5 1.5B Instruct"},
	{"qwen2.5:3b", "hf.co/Qwen/Qwen2.5-3B-Instruct-GGUF:Q4_K_M", "Qwen2.5 3B Instruct"},
	{"qwen2.5:7b", "hf.co/Qwen/Qwen2.5-7B-Instruct-GGUF:Q4_K_M", "Qwen2.5 7B Instruct (split file)"},
	{"qwen2.5-coder:1.5b", "hf.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:Q4_K_M", "Qwen2.5 Coder 1.5B Instruct"},
	{"qwen3:0.6b", "hf.co/Qwen/Qwen3-0.6B-GGUF:Q8_0", "Qwen3 0.6B, thinking and non-thinking"},
	{"qwen3:1.7b", "hf.co/Qwen/Qwen3-1.7B-GGUF:Q8_0", "Qwen3 1.7B"},
	{"qwen3:4b", "hf.co/Qwen/Qwen3-4B-GGUF:Q4_K_M", "Qwen3 4B"},
	{"qwen3:8b", "hf.co/Qwen/Qwen3-8B-GGUF:Q4_K_M", "Qwen3 8B"},
	{"qwen3:30b-a3b", "hf.co/Qwen/Qwen3-30B-A3B-GGUF:Q4_K_M", "Qwen3 30B mixture of experts, 3B active"},
	{"qwq:32b", "hf.co/Qwen/QwQ-32B-GGUF:Q4_K_M", "QwQ 32B reasoning model"},
	{"llama3.2:1b", "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", "Llama 3.2 1B Instruct"},
	{"llama3.2:3b", "hf.co/bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M", "Llama 3.2 3B Instruct"},
}

// hubPrefixes are the spellings of the Hub accepted before ORG/REPO.
var hubPrefixes = []string{"hf.co/", "huggingface.co/", "https://huggingface.co/", "https://hf.co/"}

// ParseRef parses a model reference: a short name from ShortNames,
// hf.co/ORG/REPO[:QUANT] (":latest" means the default), or
// hf.co/ORG/REPO/PATH.gguf. huggingface.co/ works in place of hf.co/.
func ParseRef(s string) (Ref, error) {
	for _, sn := range ShortNames {
		if strings.EqualFold(s, sn.Name) {
			r, err := ParseRef(sn.Ref)
			r.Name = sn.Name
			return r, err
		}
	}
	var rest string
	for _, p := range hubPrefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			rest = s[len(p):]
			break
		}
	}
	if rest == "" {
		return Ref{}, unknownRef(s)
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return Ref{}, fmt.Errorf("hub: %q: want hf.co/ORG/REPO[:QUANT] or hf.co/ORG/REPO/FILE.gguf", s)
	}
	if len(parts) == 3 {
		repo, file := parts[0]+"/"+parts[1], parts[2]
		if err := checkRepo(repo); err != nil {
			return Ref{}, err
		}
		if err := checkRepoPath(file); err != nil {
			return Ref{}, fmt.Errorf("hub: %q: file path: %w", s, err)
		}
		if !strings.HasSuffix(strings.ToLower(file), ".gguf") {
			return Ref{}, fmt.Errorf("hub: %q: %q is not a .gguf file", s, file)
		}
		return Ref{Name: "hf.co/" + repo + "/" + file, Repo: repo, File: file}, nil
	}
	repo, quant, _ := strings.Cut(parts[0]+"/"+parts[1], ":")
	if err := checkRepo(repo); err != nil {
		return Ref{}, err
	}
	quant = strings.ToUpper(quant)
	if quant == "" || quant == "LATEST" {
		quant = DefaultQuant
	}
	if !repoPart.MatchString(quant) {
		return Ref{}, fmt.Errorf("hub: %q: bad quantization %q", s, quant)
	}
	return Ref{Name: "hf.co/" + repo + ":" + quant, Repo: repo, Quant: quant}, nil
}

// unknownRef explains a reference that is neither a Hub reference nor a
// short name, suggesting the short names of the same family.
func unknownRef(s string) error {
	family, _, _ := strings.Cut(strings.ToLower(s), ":")
	var same []string
	for _, sn := range ShortNames {
		if f, _, _ := strings.Cut(sn.Name, ":"); f == family {
			same = append(same, sn.Name)
		}
	}
	if len(same) > 0 {
		return fmt.Errorf("hub: unknown model %q: did you mean %s?", s, strings.Join(same, ", "))
	}
	return fmt.Errorf("hub: unknown model %q: use hf.co/ORG/REPO[:QUANT], hf.co/ORG/REPO/FILE.gguf or a short name (qilin list --available)", s)
}
