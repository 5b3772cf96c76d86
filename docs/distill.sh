#!/bin/sh
# The demonstration of docs/distill.md, from commands:
#
#   teacher TinyStories-656K (local) -> qilin distill collect: STORIES stories with top-8 logprobs
#   -> qilin distill train: a student of ~1/4 the teacher's parameters from scratch, SFT only and SFT + top-k KD
#   -> qilin distill perplexity on the held-out stories: teacher, untrained student, both students
#   -> a sample story from each (qilin run --chat, seed 1)
#   -> the R1 recipe at CPU scale: --init the qwen2-shaped syn-qwen2 (Q8_0, kept quantized) with LoRA
#      on reasoning-style records from the same teacher, R1_STEPS steps, max RSS and steps/s
#
# Run from the repository root (2 cores: under an hour with the defaults, 10000 stories):
#
#	sh docs/distill.sh                        # prints the figures of docs/distill.md
#	PROMPTS=200 SAMPLES=2 EPOCHS=1 R1_STEPS=20 sh docs/distill.sh   # a quick run
#	WORK=/tmp/distill sh docs/distill.sh      # keep (and reuse) the dataset, students and curves
#
# Each step is skipped when its result is already in WORK, so a rerun with the
# same WORK only redoes what is missing (the collection itself resumes).
set -eu
td=${QILIN_TESTDATA:-../shared/testdata}
teacher=${TEACHER:-$td/models/TinyStories-656K-Q8_0.gguf}
r1init=${R1_INIT:-$td/models/syn-qwen2-q8_0.gguf}
prompts=${PROMPTS:-1000}
samples=${SAMPLES:-10}
epochs=${EPOCHS:-2}
r1steps=${R1_STEPS:-200}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
q="$work/qilin"
go build -o "$q" ./cmd/qilin
threads=2

# timed NAME CMD...: runs CMD, keeping its wall time and max RSS in NAME.time.
timed() {
	name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@"
}
wall() { cut -d' ' -f1 "$work/$1.time"; }
rss() { awk '{printf "%.0f", $2 / 1024}' "$work/$1.time"; }

# PROMPTS distinct story openings.
: >"$work/prompts.txt"
i=0
for a in "Once upon a time" "One day" "Yesterday" "Long ago" "In a small town" "On a sunny day" "At night" "In the park" "Last summer" "Every morning"; do
	for b in "Lily" "Tom" "a little dog" "a girl named Sue" "Ben" "a cat" "a boy named Max" "Mom" "a small bird" "Anna"; do
		for c in "found a ball" "wanted a cake" "saw a big tree" "lost a toy" "met a friend" "went to the sea" "had a red box" "made a kite" "heard a noise" "ate an apple"; do
			i=$((i + 1))
			[ "$i" -le "$prompts" ] && echo "$a, $b $c." >>"$work/prompts.txt"
		done
	done
done

# 1. The collection: SAMPLES stories per opening, up to 256 tokens each, with the
# teacher's top-8 log-probabilities for top-k KD.
if ! grep -qs '"complete": true' "$work/stories/manifest.json"; then
	timed collect "$q" distill collect --teacher "$teacher" --prompts "$work/prompts.txt" --samples "$samples" \
		--max-tokens 256 --temperature 1 --top-p 1 --top-logprobs 8 --seed 1 --concurrency 8 --threads "$threads" \
		--out "$work/stories" >"$work/collect.out" 2>"$work/collect.err"
fi

# 2. The students: a quarter of the teacher's parameters, from scratch.
cat >"$work/student.json" <<'EOF'
{"arch": "llama", "n_embd": 48, "n_layer": 2, "n_head": 4, "n_head_kv": 2, "n_ff": 128, "rope_base": 10000, "tied": true}
EOF
student() { # NAME FLAGS...
	name=$1
	shift
	mkdir -p "$work/$name"
	[ -f "$work/$name/student.gguf" ] && return
	timed "$name" "$q" distill train --data "$work/stories" --student "$work/student.json" --epochs "$epochs" \
		--batch 16 --seq-len 256 --lr 3e-3 --seed 1 --threads "$threads" --out "$work/$name/student.gguf" "$@" \
		>"$work/$name.out" 2>"$work/$name.err"
}
student untrained --untrained
student sft --kd none
student kd --kd topk --kd-weight 0.5

# 3. Perplexity on the held-out 5% (the split train made with the same seed).
ppl() { "$q" distill perplexity --model "$1" --data "$work/stories" --val-split 0.05 --seed 1 --seq-len 256 --threads "$threads" |
	sed -n 's/.*perplexity \([0-9.]*\) (mean cross-entropy \([0-9.]*\) nats) over \([0-9]*\) answer tokens of \([0-9]*\).*/\1 \2 \3 \4/p'; }
echo "collection: $(sed -n 's/^collected.*generated, //p' "$work/collect.out" | head -n 1) ($(wall collect) s wall, $(rss collect) MiB max RSS)"
sed -n '/samples, /p' "$work/collect.out"
echo
echo "| model | parameters | perplexity | mean cross-entropy (nats) | answer tokens | training wall time |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
params() { "$q" show "$1" | sed -n 's/^parameters *[^ ]* (\([0-9]*\)).*/\1/p'; }
row() { # LABEL MODEL TIME
	set -- "$1" "$2" "$3" $(ppl "$2")
	echo "| $1 | $(params "$2") | $4 | $5 | $6 | $3 |"
}
row "teacher TinyStories-656K" "$teacher" -
row "student, untrained" "$work/untrained/student.gguf" -
row "student, SFT" "$work/sft/student.gguf" "$(wall sft) s"
row "student, SFT + top-k KD (0.5)" "$work/kd/student.gguf" "$(wall kd) s"
echo
for s in sft kd; do
	echo "$s: $(sed -n 's/^wrote [^(]*(\(.*\)) in .*/\1/p' "$work/$s.out")"
done

# 4. A story from each, same prompt and seed.
story="Once upon a time, a little fox found a shiny stone."
for m in "teacher:$teacher" "untrained:$work/untrained/student.gguf" "sft:$work/sft/student.gguf" "kd:$work/kd/student.gguf"; do
	echo
	echo "${m%%:*}:"
	"$q" run -m "${m#*:}" --chat --seed 1 --temp 0.8 -n 200 "$story" 2>/dev/null
	echo
done

# 5. The R1 recipe at CPU scale. No model on this machine reasons (the shared
# qwen2 files are random weights), so the reasoning-style records are the
# teacher's own: for each opening, its sample 0 becomes the reasoning and its
# sample 1 the answer, in R1's layout (reasoning_content, then content), which
# the student's DeepSeek-R1-Distill template renders as <think>...</think>.
if [ ! -f "$work/r1.jsonl" ]; then
	jq -c 'select(.sample < 2) | {p: .prompt_id, s: .sample, u: .messages[0].content, a: .messages[-1].content}' \
		"$work/stories/samples.jsonl" | jq -cs 'group_by(.p)[] | select(length == 2) | sort_by(.s) |
		{messages: [{role: "user", content: .[0].u},
			{role: "assistant", reasoning_content: .[0].a, content: .[1].a}]}' >"$work/r1.jsonl"
fi
mkdir -p "$work/r1"
if [ ! -f "$work/r1/student.gguf" ]; then
	timed r1 "$q" distill train --data "$work/r1.jsonl" --init "$r1init" --lora-rank 16 --steps "$r1steps" \
		--batch 2 --seq-len 256 --lr 1e-3 --seed 1 --threads "$threads" --out "$work/r1/student.gguf" \
		>"$work/r1.out" 2>"$work/r1.err"
fi
echo
echo "R1 recipe: $(wc -l <"$work/r1.jsonl") reasoning-style records, $(basename "$r1init") + LoRA rank 16, $r1steps steps of 2 x 256:"
echo "$(sed -n 's/^wrote [^(]*(\(.*\)) in .*/\1/p' "$work/r1.out")"
awk -v s="$r1steps" '{printf "wall %.0f s, %.2f steps/s, max RSS %.0f MiB\n", $1, s / $1, $2 / 1024}' "$work/r1.time"

# 6. The loss curves beside docs/distill.md.
mkdir -p docs/distill
for s in sft kd r1; do cp "$work/$s/loss.svg" "docs/distill/$s-loss.svg"; done

# 7. llama.cpp loads the SFT student, F32 and F16 (re-exported from the last
# checkpoint: --resume with no steps left), and continues a prompt greedily as
# qilin does. LLAMA_SIMPLE names llama.cpp's llama-simple (built outside the
# repository); without it the step is skipped.
if [ -n "${LLAMA_SIMPLE:-}" ]; then
	[ -f "$work/sft/student-f16.gguf" ] || "$q" distill train --data "$work/stories" --student "$work/student.json" \
		--epochs "$epochs" --batch 16 --seq-len 256 --lr 3e-3 --seed 1 --threads "$threads" --resume --dtype f16 \
		--checkpoint-dir "$work/sft/checkpoints" --out "$work/sft/student-f16.gguf" >/dev/null 2>&1
	echo
	for f in student.gguf student-f16.gguf; do
		m="$work/sft/$f"
		qj=$("$q" run -m "$m" --temp 0 -n 48 --json "Once upon a time" 2>/dev/null)
		qt=$(printf %s "$qj" | jq -r .text)
		qn=$(printf %s "$qj" | jq -r '"\(.tokens | length) tokens, stop: \(.stop_reason)"')
		# llama-simple prints the prompt's pieces first, BOS included.
		lt=$("$LLAMA_SIMPLE" -m "$m" -n 48 "Once upon a time" 2>"$work/llama-simple.err" |
			awk -v p="Once upon a time" 'NR == 1 { i = index($0, p); if (i) $0 = substr($0, i + length(p)) } { print }')
		if [ "$qt" = "$lt" ]; then same="the same greedy text"; else same="DIFFERENT greedy text"; fi
		echo "llama.cpp on $f: $same as qilin ($qn): $(printf %s "$lt" | tr '\n' ' ')"
	done
fi
echo "work files in $work"
