package distill

import (
	"crypto/sha256"
	"strings"
)

// Filters are the checks distillation recipes apply to a teacher's
// answers. A dropped answer goes to rejected.jsonl with the filter's name,
// so that it is not asked for again, and counts in the manifest.
type Filters struct {
	// DropTruncated drops answers cut off at the token limit
	// (finish_reason "length"): "truncated".
	DropTruncated bool `json:"drop_truncated,omitempty"`
	// RequireReasoning drops answers without a closed reasoning block:
	// reasoning followed by an answer: "no_reasoning".
	RequireReasoning bool `json:"require_reasoning,omitempty"`
	// Dedupe drops a record whose conversation and answer repeat an
	// earlier record's exactly: "duplicate". Earlier is canonical order,
	// so which copy stays does not depend on timing.
	Dedupe bool `json:"dedupe,omitempty"`
	// CheckAnswers keeps, for prompts with a reference answer, only the
	// answers whose final answer matches it (rejection sampling):
	// "wrong_answer".
	CheckAnswers bool `json:"check_answers,omitempty"`
}

// Reasons a record is rejected.
const (
	RejectTruncated   = "truncated"
	RejectNoReasoning = "no_reasoning"
	RejectDuplicate   = "duplicate"
	RejectWrongAnswer = "wrong_answer"
)

// check returns why rec fails the filters that look at one record alone
// ("" when it passes); answer is its prompt's reference answer.
func (f Filters) check(rec *Record, answer string) string {
	content, reasoning := rec.Answer()
	switch {
	case f.DropTruncated && rec.FinishReason == "length":
		return RejectTruncated
	case f.RequireReasoning && (strings.TrimSpace(reasoning) == "" || strings.TrimSpace(content) == ""):
		return RejectNoReasoning
	case f.CheckAnswers && answer != "" && !AnswerMatches(content, answer):
		return RejectWrongAnswer
	}
	return ""
}

// dedupeKey is the SHA-256 of a record's conversation with its answer.
func dedupeKey(rec *Record) [32]byte {
	return sha256.Sum256(marshal(rec.Messages))
}
