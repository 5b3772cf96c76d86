package eval

// This file holds the formats of an eval directory's files, results.json
// and samples.jsonl, which eval/report reads.

// Results is DIR/results.json: {"tasks": {TASK: {MODEL: Score}}}.
type Results struct {
	// Tasks maps a task's name, then a model's name (as given to
	// --model), to its score.
	Tasks map[string]map[string]*Score `json:"tasks"`
	// Models describes each model named in Tasks.
	Models map[string]ModelInfo `json:"models,omitempty"`
	// Config is how the run was asked for.
	Config *Config `json:"config,omitempty"`
}

// Score is one model's result on one task.
//
// For a generative task, Accuracy is pass@1: the fraction of correct
// samples, the mean over items of each item's fraction of its Samples
// samples that are correct, and CI95 its 95% confidence interval: the
// Wilson interval with one sample per item, else the normal approximation
// over the N item means, clamped to [0, 1] (Wilson's again when every
// item has the same fraction, so that there is no spread to measure). For perplexity Accuracy is 0,
// N counts chunks, Tokens.Prompt the tokens scored, and Perplexity is set.
//
// When several thinking budgets were asked for, the top-level fields
// describe the largest (an unbounded budget counts as the largest) and
// ThinkBudgets holds each budget's score, keyed by its decimal value ("0"
// for none at all, "unbounded" for no limit).
type Score struct {
	Accuracy float64    `json:"accuracy"`
	N        int        `json:"n"`
	CI95     [2]float64 `json:"ci95"`
	// PassAt maps k (decimal) to pass@k, the mean over items of the
	// unbiased estimator 1 - C(n-c, k)/C(n, k); "1" is always present for
	// generative tasks.
	PassAt map[string]float64 `json:"pass_at"`
	// ConsAt maps K (decimal) to cons@K: the fraction of items whose
	// majority answer over K samples is correct. Set when Samples > 1.
	ConsAt  map[string]float64 `json:"cons_at,omitempty"`
	Tokens  Tokens             `json:"tokens"`
	Seconds float64            `json:"seconds"`
	// TokPerS is completion tokens per second of generation time.
	TokPerS float64 `json:"tok_per_s"`

	// Samples is the number of samples per item (--samples).
	Samples int `json:"samples"`
	// Correct is the number of correct samples over all items.
	Correct int `json:"correct"`
	// Unfinished counts samples whose reasoning never closed (scored
	// wrong, never parsed).
	Unfinished int `json:"unfinished,omitempty"`
	// Errors counts samples that could not be generated (endpoint
	// errors); they are scored wrong.
	Errors int `json:"errors,omitempty"`

	// LogLik, for multiple-choice tasks on local models, scores each item
	// by the log-likelihood of each choice, as lm-evaluation-harness does.
	LogLik *LogLikScore `json:"loglik,omitempty"`
	// Perplexity, for the perplexity task: exp of the mean negative
	// log-likelihood per token.
	Perplexity float64 `json:"perplexity,omitempty"`

	// ThinkBudget is the budget this score was measured at (nil:
	// unbounded).
	ThinkBudget *int `json:"think_budget,omitempty"`
	// ThinkBudgets holds the score at each budget when several were asked
	// for (see Score).
	ThinkBudgets map[string]*Score `json:"think_budgets,omitempty"`
}

// LogLikScore is lm-evaluation-harness's multiple-choice scoring: acc
// picks the choice with the highest log-likelihood, acc_norm the one with
// the highest log-likelihood divided by the choice's length in bytes.
type LogLikScore struct {
	Acc         float64    `json:"acc"`
	AccCI95     [2]float64 `json:"acc_ci95"`
	AccNorm     float64    `json:"acc_norm"`
	AccNormCI95 [2]float64 `json:"acc_norm_ci95"`
	N           int        `json:"n"`
	Seconds     float64    `json:"seconds"`
}

// Tokens counts tokens: those of the prompts, of the completions (the
// reasoning included), and of the reasoning alone.
type Tokens struct {
	Prompt     int `json:"prompt"`
	Completion int `json:"completion"`
	Reasoning  int `json:"reasoning"`
}

// ModelInfo says where a model ran.
type ModelInfo struct {
	// Kind is "local" (a GGUF model run in this process) or "remote".
	Kind string `json:"kind"`
	// Endpoint is the API root URL of a remote model.
	Endpoint string `json:"endpoint,omitempty"`
	// Model is the file path of a local model or the model name sent to
	// an endpoint.
	Model string `json:"model,omitempty"`
}

// Config records the flags of a run.
type Config struct {
	Tasks        []string `json:"tasks"`
	Models       []string `json:"models"`
	Limit        int      `json:"limit,omitempty"`
	Samples      int      `json:"samples"`
	PassAt       []int    `json:"pass_at,omitempty"`
	ThinkBudgets []int    `json:"think_budgets,omitempty"`
	Temperature  float64  `json:"temperature"`
	TopP         float64  `json:"top_p"`
	MaxTokens    int      `json:"max_tokens"`
	Seed         int64    `json:"seed"`
}

// Sample is one line of DIR/samples.jsonl: one answer of one model to one
// item of one task.
type Sample struct {
	Task  string `json:"task"`
	Model string `json:"model"`
	ID    string `json:"id"`
	// Sample is 0 to --samples - 1.
	Sample int `json:"sample"`
	// ThinkBudget is the reasoning budget in tokens; nil: unbounded.
	ThinkBudget *int `json:"think_budget"`
	// Seed is the seed the answer was sampled with (derived from --seed,
	// the task, the item and the sample index).
	Seed int64 `json:"seed,omitempty"`
	// Mode is "generate" for a generated answer, "loglik" for a
	// multiple-choice item scored by log-likelihood, "perplexity" for a
	// perplexity chunk.
	Mode string `json:"mode"`
	// Prompt is the prompt as the task states it (the user message; the
	// whole conversation for multi-turn items, one message a line).
	Prompt string `json:"prompt"`
	// Raw is the answer as the engine or endpoint returned it, after it
	// split off the reasoning it recognized (reasoning_content).
	Raw string `json:"raw"`
	// Reasoning is all the reasoning dropped before extraction
	// (reasoning_content, and in Raw the text up to the first </think>).
	Reasoning string `json:"reasoning"`
	// Extracted is the answer the extraction rules found ("" when none).
	Extracted string `json:"extracted"`
	// Answer is the reference answer.
	Answer  string `json:"answer"`
	Correct bool   `json:"correct"`
	// Verdict says why: "correct", "wrong", "no answer", "unclosed
	// reasoning", "error: ...".
	Verdict      string  `json:"verdict"`
	Tokens       Tokens  `json:"tokens"`
	Seconds      float64 `json:"seconds"`
	FinishReason string  `json:"finish_reason"`
	// LogLik, for Mode "loglik": the log-likelihood of each choice's
	// continuation, in the order of Choices.
	LogLik []float64 `json:"loglik,omitempty"`
	// Choices, for multiple-choice items: the choices' texts; for Mode
	// "loglik", the continuations scored (" A", ... for mmlu).
	Choices []string `json:"choices,omitempty"`
	// CorrectNorm, for Mode "loglik": whether the choice with the highest
	// log-likelihood per byte is right (acc_norm; Correct is acc).
	CorrectNorm bool `json:"correct_norm,omitempty"`
	// NLL, for Mode "perplexity": the summed negative log-likelihood of
	// the chunk's scored tokens (Tokens.Prompt of them).
	NLL float64 `json:"nll,omitempty"`
}
