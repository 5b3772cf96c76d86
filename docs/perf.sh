#!/bin/sh
# Regenerates docs/perf.md: builds qilin, writes random-weight models with
# the shapes of released models (qilin synth: Qwen2.5 0.5B and 1.5B, and the
# MoE shapes Qwen3-30B-A3B and DeepSeek-V2-Lite), runs qilin bench on them
# and, when LLAMA_BENCH names llama.cpp's llama-bench, llama-bench on the
# same files with the same threads, the two alternating, and writes the
# report. Run it from the repository root on an otherwise idle machine:
#
#	sh docs/perf.sh            # 3 repetitions per test, 2 rounds
#	LLAMA_BENCH=/path/to/llama-bench sh docs/perf.sh   # llama.cpp beside qilin
#	MODELS=/big/disk sh docs/perf.sh   # keep the synthetic files there (~30 GB)
#	MOE=0 sh docs/perf.sh      # without the two MoE shapes (17 + 10 GB files)
#	MOE_SHAPES=deepseek-v2-lite sh docs/perf.sh   # only these MoE shapes
#	SPEED_ONLY=1 sh docs/perf.sh   # only the model-speed tables, the sections after them kept
#	REPS=5 ROUNDS=3 sh docs/perf.sh
#	SOAK=10m sh docs/perf.sh   # also the server's memory soak (issue 5)
#	TRAIN_ONLY=1 sh docs/perf.sh   # only the training section, the rest kept
#	COLLECT_ONLY=1 sh docs/perf.sh # only distill collect against serve, the rest kept
#	QWEN35_ONLY=1 sh docs/perf.sh  # only the Qwen3.5 section (P, N: pp and tg sizes; ND, DEPTH_ROUNDS: the depth runs)
#	STRUCTURED_ONLY=1 MODELS=/work/ext/synth sh docs/perf.sh   # only structured output
#
# Each round runs qilin bench and then llama-bench (-r REPS, pp512 and
# tg128) on one file before the next round, so that both see the same load
# on a shared machine; the report pools the rounds and gives each round's
# ratio too.
#
# The training section compares with llm.c's CPU trainer when LLMC_BENCH
# names its benchmark driver (built outside the repository, see the section).
#
# It also runs the server load test (aggregate decode tokens/s at 1, 4, 8
# and 16 concurrent streams through the HTTP API).
set -eu
reps=${REPS:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/qilin" ./cmd/qilin

# only HEADING FUNC: runs FUNC (which prints one "## HEADING..." section)
# and puts its output in docs/perf.md in place of the section of that
# heading (up to the next "## " heading), or at the end when there is none;
# every other section is kept as it is. Then the script ends.
only() {
	"$2" >"$tmp/only.md"
	awk -v sec="$tmp/only.md" -v head="## $1" '
		function emit() { while ((getline l < sec) > 0) print l; done = 1 }
		index($0, head) == 1 { emit(); skip = 1; next }
		skip && /^## / { skip = 0; print ""; }
		!skip { print }
		END { if (!done) { print ""; emit() } }
	' docs/perf.md >docs/perf.md.tmp
	mv docs/perf.md.tmp docs/perf.md
	echo "wrote the section \"$1\" of docs/perf.md" >&2
	exit 0
}

# training runs BenchmarkStep (train/bench_test.go) on 2 threads, alternating
# with llm.c's trainer when LLMC_BENCH is set, and prints the section.
training() {
	go test -c -o "$tmp/train.test" ./train
	: >"$tmp/llmc.txt"
	: >"$tmp/q10m.txt"
	for i in $(seq "$reps"); do
		echo "training benchmark, round $i" >&2
		if [ -n "${LLMC_BENCH:-}" ]; then
			OMP_NUM_THREADS=2 "$LLMC_BENCH" 4 | tail -n 1 >>"$tmp/llmc.txt"
		fi
		"$tmp/train.test" -test.run '^$' -test.bench 'Step/llama10M' -test.benchtime 4x | grep '^Benchmark' >>"$tmp/q10m.txt"
	done
	"$tmp/train.test" -test.run '^$' -test.bench 'Step/tiny150K' -test.benchtime 20x | grep '^Benchmark' >"$tmp/qtiny.txt"
	tload=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
	echo "## Training (qilin distill train)"
	echo
	echo "\`go test ./train -run '^\$' -bench Step\`: one optimizer step (forward, backward, AdamW) of 4 rows of"
	echo "256 positions, every position a target, on 2 threads, float32 throughout on the avo-generated GEMM"
	echo "(kernels/_asm/gemm: a 6x16 register tile, AVX2 + FMA). GFLOP/s counts"
	echo "6 × parameters × tokens plus attention (6 × layers × T × width per token). llama10M: llama, vocabulary"
	echo "4096 tied, width 384, 5 layers of 6 heads, FFN 1024 (10.4M parameters); tiny150K: the TinyStories"
	echo "student of docs/distill.md (149K parameters, vocabulary 2048). Load average $tload after the runs."
	echo
	echo "| model | run | tokens/s | GFLOP/s |"
	echo "| --- | ---: | ---: | ---: |"
	awk '{for (i = 3; i < NF; i++) v[$(i+1)] = $i; split($1, a, "/"); printf "| qilin %s | %d | %.0f | %.1f |\n", a[2], NR, v["tokens/s"], v["GFLOP/s"]}' "$tmp/q10m.txt"
	awk '{for (i = 3; i < NF; i++) v[$(i+1)] = $i; split($1, a, "/"); printf "| qilin %s | - | %.0f | %.1f |\n", a[2], v["tokens/s"], v["GFLOP/s"]}' "$tmp/qtiny.txt"
	if [ -s "$tmp/llmc.txt" ]; then
		awk '{printf "| llm.c train_gpt2.c GPT-2 (%.1fM parameters) | %d | %.0f | %.1f |\n", $2/1e6, NR, $4, $6}' "$tmp/llmc.txt"
		echo
		paste -d' ' "$tmp/q10m.txt" "$tmp/llmc.txt" | awk '{
			for (i = 3; i < NF; i++) if ($(i+1) == "tokens/s") q = $i
			for (i = 1; i < NF; i++) if ($i == "parameters,") l = $(i+1)
			r += q / l; n++
		} END { printf "qilin / llm.c, tokens/s, mean over %d alternating rounds: **%.2f×**\n", n, r / n }'
		echo
		echo "llm.c was built from karpathy/llm.c (commit f1e2ace, \`train_gpt2.c\` unmodified) outside the repository with"
		echo "\`gcc -Ofast -march=native -fopenmp\` and run with \`OMP_NUM_THREADS=2\`, through a ~40-line driver that defines"
		echo "TESTING, includes train_gpt2.c, writes a random GPT-2 checkpoint (C=384, L=5, NH=6, V=4096, maxT=256: 10.5M"
		echo "parameters, the size of llama10M; weights uniform in ±0.02 from \`srand(1)\`), and times \`gpt2_forward\`,"
		echo "\`gpt2_zero_grad\`, \`gpt2_backward\` and \`gpt2_update\` (AdamW) on B=4, T=256 random tokens for as many"
		echo "steps as its argument (4 here; one step before them, which allocates, not counted), printing"
		echo "\`llm.c: N parameters, X tokens/s, Y GFLOP/s\` with the GFLOP counted as for qilin; set LLMC_BENCH to it."
		echo "The runs alternate on a shared machine: compare the ratio, not the absolute figures."
	fi
}

# collection compares qilin distill collect with a local teacher against the
# same collection asked of qilin serve over HTTP (issue 13): the teacher
# TinyStories-656K, the same prompts, seeds, max tokens and concurrency C
# (the local teacher's slots, the server's --parallel), 2 threads each, the
# two alternating round by round; prints the section.
collection() {
	teacher=${QILIN_TESTDATA:-../shared/testdata}/models/TinyStories-656K-Q8_0.gguf
	c=${COLLECT_C:-8}
	: >"$tmp/prompts.txt"
	for a in "Once upon a time" "One day" "Long ago" "In a small town" "On a sunny day" "At night" "In the park" "Every morning"; do
		for b in "Lily found a ball." "Tom saw a big tree." "a little dog lost a toy." "a cat met a friend." \
			"Ben went to the sea." "Mom made a kite." "a small bird heard a noise." "Anna ate an apple."; do
			echo "$a, $b" >>"$tmp/prompts.txt"
		done
	done
	flags="--prompts $tmp/prompts.txt --samples 4 --max-tokens 128 --temperature 1 --top-p 1 --seed 1 --concurrency $c"
	: >"$tmp/collect.local"
	: >"$tmp/collect.serve"
	for r in $(seq "$reps"); do
		# odd rounds ask the local teacher first, even rounds the server
		if [ $((r % 2)) = 1 ]; then order="local serve"; else order="serve local"; fi
		for how in $order; do
			echo "collection, round $r: $how" >&2
			rm -rf "$tmp/coll"
			if [ "$how" = local ]; then
				# shellcheck disable=SC2086
				"$tmp/qilin" distill collect --teacher "$teacher" $flags --threads 2 --out "$tmp/coll" 2>/dev/null >"$tmp/coll.out"
			else
				"$tmp/qilin" serve "$teacher" --port 0 --parallel "$c" --threads 2 >"$tmp/serve.out" 2>"$tmp/serve.err" &
				spid=$!
				port=
				for _ in $(seq 100); do
					port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\).*#\1#p' "$tmp/serve.out")
					[ -n "$port" ] && break
					sleep 0.2
				done
				until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do sleep 0.2; done
				# shellcheck disable=SC2086
				"$tmp/qilin" distill collect --teacher "http://127.0.0.1:$port/v1#TinyStories-656K-Q8_0" $flags --out "$tmp/coll" 2>/dev/null >"$tmp/coll.out"
				kill "$spid"
				wait "$spid" 2>/dev/null || true
			fi
			sed -n 's/^collected [0-9]* new samples in [^:]*: \([0-9]*\) tokens generated, \([0-9.]*\) tok\/s$/\1 \2/p' "$tmp/coll.out" >>"$tmp/collect.$how"
		done
	done
	cload=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
	echo "## Distillation: collection against serving"
	echo
	echo "\`qilin distill collect --teacher TinyStories-656K-Q8_0.gguf $(echo "$flags" | sed "s#$tmp/##") --threads 2\`"
	echo "(a local teacher: the engine's continuous batching with $c slots) against the same command with"
	echo "\`--teacher http://127.0.0.1:PORT/v1#TinyStories-656K-Q8_0\`, asking \`qilin serve TinyStories-656K-Q8_0.gguf"
	echo "--parallel $c --threads 2\` over HTTP (streamed). 64 story openings, 4 samples each; generated tokens per"
	echo "second of each collection's wall time (the model load not counted), the two alternating (odd rounds local"
	echo "first, even rounds serve first)."
	echo "Goal (issue 13): within 10%. Load average $cload after the runs."
	echo
	echo "| round | local tokens | local tok/s | serve tokens | serve tok/s | local / serve |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
	paste -d' ' "$tmp/collect.local" "$tmp/collect.serve" | awk '{
		printf "| %d | %d | %.1f | %d | %.1f | %.2f× |\n", NR, $1, $2, $3, $4, $2 / $4; r += $2 / $4; n++
	} END { if (n) printf "\nlocal collection / serve, tok/s, mean over %d rounds: **%.2f×**\n", n, r / n }'
}

if [ -n "${COLLECT_ONLY:-}" ]; then
	only "Distillation: collection" collection
fi

# structured runs the grammar benchmarks (issue 11): the mask time per
# token on the real Qwen vocabulary, and decode tok/s with and without a
# JSON Schema on the qwen2.5-0.5b Q4_K_M synthetic file (written to
# $models when missing), the two alternating, and prints the section.
structured() {
	f="$models/qwen2.5-0.5b-Q4_K_M.gguf"
	if [ ! -f "$f" ]; then
		echo "qilin synth qwen2.5-0.5b $f --quant Q4_K_M" >&2
		"$tmp/qilin" synth qwen2.5-0.5b "$f" --quant Q4_K_M >&2
	fi
	echo "go test ./grammar -bench MaskQwen" >&2
	go test ./grammar -run '^$' -bench MaskQwen -benchtime 10x -timeout 60m >"$tmp/mask.txt"
	echo "go test ./engine -bench DecodeSchema" >&2
	QILIN_BENCH_MODEL=$f go test ./engine -run '^$' -bench DecodeSchema -benchtime 4x -count "${ROUNDS:-2}" -timeout 60m >"$tmp/decode.txt"
	sload=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
	echo "## Structured output"
	echo
	echo "Measured $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); load average $sload after the runs."
	echo
	echo "\`go test ./grammar -run '^\$' -bench MaskQwen -benchtime 10x\`: \`Matcher.Mask\` per token over the real Qwen"
	echo "vocabulary (151,669 tokens, \`ggml-vocab-qwen2.gguf\`) on random walks (random logits, temperature 1, 96 tokens"
	echo "a walk) through a nested schema (grammar/testdata/nested.json: objects in an array in an object, bounded and"
	echo "free strings, numbers, enums, uuid, email, date-time, a pattern). cold compiles the schema afresh for each walk,"
	echo "so the per-node tables and the per-state cache fill on the way (a schema's first request); warm keeps one"
	echo "grammar, as a server's cache does. Wall-clock times: on a machine with many runnable threads per core they are many times the CPU time."
	echo
	echo "| grammar | median µs/token | p99 µs/token |"
	echo "| --- | ---: | ---: |"
	awk '/^BenchmarkMaskQwen\// {
		split($1, a, "/"); sub(/-.*/, "", a[2])
		for (i = 3; i < NF; i++) v[$(i+1)] = $i
		printf "| %s | %d | %d |\n", a[2], v["median-µs/token"], v["p99-µs/token"]
	}' "$tmp/mask.txt"
	echo
	echo "\`QILIN_BENCH_MODEL=FILE go test ./engine -run '^\$' -bench DecodeSchema -benchtime 4x -count ${ROUNDS:-2}\`: one request"
	echo "through the scheduler (2 threads, the sampler's defaults, 128 tokens), free and held to the same nested schema"
	echo "(compiled once, as a server's cache keeps it), alternating request by request (4 of each a run); decode tok/s counts the tokens after the"
	echo "first over the time from the first to the last. The grammar draws first and masks only when the model's"
	echo "token is refused (engine.Checker, as llama.cpp's sampler does). Goal (issue 11): with a schema >= 90% of without."
	echo
	echo "| run | free tok/s | schema tok/s | schema / free |"
	echo "| ---: | ---: | ---: | ---: |"
	awk '/^BenchmarkDecodeSchema/ {
		for (i = 3; i < NF; i++) v[$(i+1)] = $i
		n++; printf "| %d | %.2f | %.2f | %.2f |\n", n, v["free-tok/s"], v["schema-tok/s"], v["schema/free"]; r += v["schema/free"]
	} END { if (n > 0) printf "| mean | | | **%.2f** |\n", r / n }' "$tmp/decode.txt"
	echo
}

if [ -n "${STRUCTURED_ONLY:-}" ]; then
	models=${MODELS:-$tmp/models}
	mkdir -p "$models"
	only "Structured output" structured
fi

if [ -n "${TRAIN_ONLY:-}" ]; then
	only "Training" training
fi

rounds=${ROUNDS:-2}
models=${MODELS:-$tmp/models}
mkdir -p "$models" "$tmp/runs"
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
n=0
# bench SHAPE QUANT THREADS: rounds of qilin bench and llama-bench on the
# synthetic file of SHAPE at QUANT, written once.
bench() {
	n=$((n + 1))
	f="$models/$1-$2.gguf"
	if [ ! -f "$f" ]; then
		echo "qilin synth $1 $f --quant $2" >&2
		"$tmp/qilin" synth "$1" "$f" --quant "$2" >&2
	fi
	for r in $(seq "$rounds"); do
		echo "round $r: qilin bench -m $f -t $3" >&2
		"$tmp/qilin" bench -m "$f" -t "$3" -r "$reps" --json >"$tmp/runs/$(printf %02d "$n").$r.qilin.json"
		if [ -n "${LLAMA_BENCH:-}" ]; then
			echo "round $r: llama-bench -m $f -t $3" >&2
			"$LLAMA_BENCH" -m "$f" -t "$3" -p 512 -n 128 -r "$reps" -o json >"$tmp/runs/$(printf %02d "$n").$r.llama.json" 2>/dev/null
		fi
	done
}
# qwen35 prints the Qwen3.5 section: qilin bench (and llama-bench) on the
# qwen3.5-0.8b and -2b shapes at Q4_K_M, decode after 512 and 8192 tokens
# of context (-d) on qwen3.5-0.8b beside an attention-only model of the
# same cache size per token, and a chat's second turn with and without the
# recurrent states' snapshots. Each round runs qilin bench and then
# llama-bench on one file; DEPTH_ROUNDS (default ROUNDS) rounds of the
# depth runs, whose 8192-token prefills are long. It runs its benches after
# any others, in its own runs folder.
qwen35() {
	runs=$tmp/q35runs
	mkdir -p "$runs"
	lq0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
	nd=${ND:-32}
	# q35run N FILE ROUNDS ARGS...: rounds of both benches with ARGS.
	q35run() {
		qi=$1 qf=$2 qr=$3
		shift 3
		for r in $(seq "$qr"); do
			echo "round $r: qilin bench -m $qf $*" >&2
			"$tmp/qilin" bench -m "$qf" -t 2 "$@" -r "$reps" --json >"$runs/$qi.$r.qilin.json"
			if [ -n "${LLAMA_BENCH:-}" ]; then
				echo "round $r: llama-bench -m $qf $*" >&2
				"$LLAMA_BENCH" -m "$qf" -t 2 "$@" -r "$reps" -o json >"$runs/$qi.$r.llama.json" 2>/dev/null
			fi
		done
	}
	f05="$models/qwen2.5-0.5b-Q4_K_M.gguf"
	[ -f "$f05" ] || "$tmp/qilin" synth qwen2.5-0.5b "$f05" --quant Q4_K_M >&2
	i=0
	for shape in qwen3.5-0.8b qwen3.5-2b; do
		f="$models/$shape-Q4_K_M.gguf"
		[ -f "$f" ] || "$tmp/qilin" synth "$shape" "$f" --quant Q4_K_M >&2
		i=$((i + 1))
		q35run "$i.a" "$f" "$rounds" -p "${P:-512}" -n "${N:-128}"
	done
	for f in "$models/qwen3.5-0.8b-Q4_K_M.gguf" "$f05"; do
		i=$((i + 1))
		q35run "$i.d" "$f" "${DEPTH_ROUNDS:-$rounds}" -p 0 -n "$nd" -d 512,8192
	done
	echo "chat turn" >&2
	QILIN_BENCH_MODEL="$models/qwen3.5-0.8b-Q4_K_M.gguf" go test ./engine -run '^$' -bench ChatTurnRecurrent -benchtime 1x -timeout 60m | grep '^Benchmark' >"$tmp/turn.txt"
	echo "## Qwen3.5 (hybrid Gated DeltaNet and gated attention)"
	echo
	echo "\`qilin bench -m FILE -t 2 -p ${P:-512} -n ${N:-128} -r $reps --json\` and \`llama-bench -m FILE -t 2 -p ${P:-512} -n ${N:-128} -r $reps -o json\`"
	echo "(where LLAMA_BENCH is set) on \`qilin synth qwen3.5-0.8b\` and \`qwen3.5-2b\` at Q4_K_M, alternating, $rounds round(s);"
	echo "then decode after 512 and 8192 tokens of context, \`-p 0 -n $nd -d 512,8192\` to both, ${DEPTH_ROUNDS:-$rounds} round(s), on"
	echo "qwen3.5-0.8b and on qwen2.5-0.5b, whose 24 attention layers keep the same 12 KiB per token as qwen3.5-0.8b's 6"
	echo "(three of every four qwen3.5 layers are Gated DeltaNet, whose state per sequence is fixed: 19.3 MiB for 0.8b, \`qilin show\`)."
	echo "The depth is a prefill that neither times; each repetition resumes after it (llama-bench restores its saved state,"
	echo "qilin its snapshot). The bandwidth is measured by qilin bench right after each tg repetition for as long as"
	echo "it ran, and each tg sample's roofline share is taken against its own pass, so that both saw the same load;"
	echo "llama.cpp's share uses qilin's passes of the same rounds. llama.cpp's threads spin at their barriers, which"
	echo "a loaded machine punishes more than qilin's pool: compare within a round, at the load given."
	echo "Load average $lq0 before the runs and $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) after, at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
	echo
	"$tmp/qilin" bench --report "$runs"/*.json
	echo
	echo "A chat's second turn (\`QILIN_BENCH_MODEL=FILE go test ./engine -run '^\$' -bench ChatTurnRecurrent -benchtime 1x\`):"
	echo "turn 1 is a 300-token prompt and 16 generated tokens, turn 2 that prompt and 32 more tokens, timed to its first token;"
	echo "the snapshot at the end of turn 1's prompt spares recomputing it."
	echo
	echo "| turn 2 | ms | prompt tokens reused |"
	echo "| --- | ---: | ---: |"
	awk '{split($1, a, "/"); sub(/-.*/, "", a[2]); for (i = 3; i < NF; i++) v[$(i+1)] = $i; printf "| %s | %.0f | %d |\n", a[2], v["ms/turn"], v["cached"]}' "$tmp/turn.txt"
}
if [ -n "${QWEN35_ONLY:-}" ]; then
	only "Qwen3.5" qwen35
fi

bench qwen2.5-0.5b Q4_K_M 2
bench qwen2.5-0.5b Q8_0 2
bench qwen2.5-1.5b Q4_K_M 2
if [ "${MOE:-1}" != 0 ]; then
	for shape in ${MOE_SHAPES:-qwen3-30b-a3b deepseek-v2-lite}; do
		bench "$shape" Q4_K_M 2
	done
fi
bench qwen2.5-0.5b Q4_K_M 1
bench qwen2.5-0.5b Q8_0 1

if [ -z "${SPEED_ONLY:-}" ]; then
	echo "go test ./server -bench ServeLoad" >&2
	go test ./server -run '^$' -bench ServeLoad -benchtime 1x -timeout 30m >"$tmp/serve.txt"
fi
if [ -z "${SPEED_ONLY:-}" ] && [ -n "${SOAK:-}" ]; then
	echo "go test ./server -bench ServeSoak (QILIN_SOAK=$SOAK)" >&2
	QILIN_SOAK=$SOAK go test ./server -run '^$' -bench ServeSoak -benchtime 1x -timeout 60m >"$tmp/soak.txt"
fi

load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ *//' || uname -m)

# report writes docs/perf.md: the model-speed tables, then the sections
# after them (measured now, or kept from docs/perf.md with SPEED_ONLY).
report() {
{
	cat <<'HEAD'
# qilin performance

Written by `sh docs/perf.sh` (which runs the commands listed below); do not
edit by hand. The method is DESIGN.md's "Performance method": decode is
memory-bound, so tg (tokens generated one at a time) is reported as a share
of the bandwidth roofline, `tg tok/s × bytes of weights read per token /
memory read bandwidth`, with the bandwidth measured in the same run (all CPUs
streaming a 512 MiB buffer with the kernels' vectorized read loop, best pass
of those before, between and after the tests); prefill is compute-bound, so
pp (the prompt as one batch) is also reported as GFLOP/s, `2 × weights × tokens / time` (the output projection
counted for the last token only, as only its logits are computed). The
models are `qilin synth` files: random weights with the exact shapes, tensor
types (llama.cpp's Q4_K_M / Q8_0 mixes) and vocabulary sizes of the released
models. Machines here are shared and noisy: compare the ratios within a run,
not absolute times across runs.

The llama.cpp columns are llama-bench (llama.cpp's CPU build, made natively
on this machine) run by the same script on the same files with the same
threads, alternating with qilin bench round by round, so that both see the
same load; the ratios compare the pooled means, and each model's section
gives every round's ratio too. Where they are absent, llama-bench was not
run (LLAMA_BENCH unset). Goals (issue 4): tg >= 1.3× llama.cpp (>= 65% of
the roofline), pp >= 1.0× (stretch 1.5×); on the MoE shapes (issue 10),
tg >= 1.3×.

HEAD
	echo "Measured $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown) on $cpu, $(nproc 2>/dev/null || echo '?') CPUs, $rounds rounds of $reps repetitions per test;"
	echo "load average $load0 before the runs and $load1 after (other work on the machine inflates the ± spreads)."
	echo
	"$tmp/qilin" bench --report "$tmp"/runs/*.json
	echo
	if [ -n "${SPEED_ONLY:-}" ]; then
		sed -n '/^## Serving/,$p' docs/perf.md
	else
		sections
	fi
} >docs/perf.md.tmp
mv docs/perf.md.tmp docs/perf.md
echo "wrote docs/perf.md" >&2
}

# sections prints the sections after the model-speed tables: serving and
# training.
sections() {
	echo "## Serving: continuous batching"
	echo
	echo "\`go test ./server -run '^\$' -bench ServeLoad -benchtime 1x\`: one server (16 slots) on a synthetic"
	echo "Qwen2.5-0.5B Q8_0; C clients each stream a 128-token greedy completion over HTTP. Aggregate decode"
	echo "tokens/s counts the tokens that arrive while all C streams decode; end to end counts all completion"
	echo "tokens from sending the requests to the last stream's end, prefill included (method in server/bench_test.go)."
	echo
	echo "| streams | aggregate decode tok/s | vs one stream | end to end tok/s | mean time to first token | heap in use |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
	awk '/^BenchmarkServeLoad\/streams=/ {
		split($1, a, "="); sub(/-.*/, "", a[2])
		for (i = 3; i < NF; i++) v[$(i+1)] = $i
		printf "| %s | %.1f | %.2f× | %.1f | %.0f ms | %.0f MiB |\n", a[2], v["tok/s"], v["x-single"], v["tok/s-e2e"], v["ms-ttft"], v["MiB-heap"]
	}' "$tmp/serve.txt"
	if [ -f "$tmp/soak.txt" ]; then
		echo
		awk -v d="$SOAK" -v q="'" '/^BenchmarkServeSoak.*rounds/ {
			for (i = 3; i < NF; i++) v[$(i+1)] = $i
			printf "Soak (`QILIN_SOAK=%s go test ./server -run %s -bench ServeSoak -benchtime 1x`): 8 streams for %s, %d rounds, %.1f tok/s; heap in use %.1f MiB after the first round, %.1f MiB at most, %.1f MiB at the end.\n", d, q "^$" q, d, v["rounds"], v["tok/s"], v["MiB-heap-first"], v["MiB-heap-peak"], v["MiB-heap-last"]
		}' "$tmp/soak.txt"
	fi
	echo
	collection
	echo
	structured
	echo
	training
	if [ "${QWEN35:-1}" != 0 ]; then
		echo
		qwen35
	fi
	# The watermarking section is measured by docs/provenance.sh's
	# benchmark (see its text); kept as it is.
	if grep -q '^## Watermarking' docs/perf.md; then
		echo
		awk '/^## Watermarking/ { on = 1 } on && /^## / && !/^## Watermarking/ { on = 0 } on' docs/perf.md
	fi
}

report
