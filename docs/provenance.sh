#!/bin/sh
# The radioactivity demonstration of docs/provenance.md, from commands:
#
#   teacher TinyStories-656K served with a watermark key
#   -> qilin distill collect (marked answers, and unmarked ones from the same teacher served without a key)
#   -> students fine-tuned by qilin distill train on 100%, 20% and 5% marked data and a control on none
#   -> qilin watermark radioactivity on each, reading our marked outputs; the control also against 20
#      other keys, each with marked outputs of its own
#
# Run from the repository root (PROMPTS answers of up to 200 tokens per dataset; on 2 cores
# at 16 epochs: m5 and control with the 20 keys took 22 minutes at load average 10; all four
# students about 40):
#
#	sh docs/provenance.sh                 # prints the table of docs/provenance.md
#	PROMPTS=200 EPOCHS=1 sh docs/provenance.sh   # a quick run
#	STUDENTS="m5 control" sh docs/provenance.sh # the figures of docs/provenance.md (22 minutes at load 10)
#	SCHEME=redgreen CONTEXT=2 PLAIN=DIR sh ...   # another key kind; PLAIN reuses an unmarked collection
#	WORK=/tmp/prov sh docs/provenance.sh  # keep the datasets, students and report (a rerun resumes)
set -eu
teacher=${TEACHER:-${QILIN_TESTDATA:-../shared/testdata}/models/TinyStories-656K-Q8_0.gguf}
prompts=${PROMPTS:-1000}
epochs=${EPOCHS:-16}
tokens=${TOKENS:-1000000} # tokens of our marked outputs each suspect reads: all of them
other=${OTHER:-200}       # prompts answered with each of the control's 20 other keys
scheme=${SCHEME:-gumbel}  # the keys' scheme and context width (qilin watermark keygen)
width=${CONTEXT:-4}
plain=${PLAIN:-}          # a finished unmarked collection to reuse (it does not depend on the key)
students=${STUDENTS:-m100 m20 m5 control}
nkeys=${KEYS:-20}         # other keys the control (and the teacher) are tested against
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
q="$work/qilin"
go build -o "$q" ./cmd/qilin

# PROMPTS distinct story openings, one answer each: a gumbel-marked teacher
# gives the same answer to the same prompt whatever the seed, so several
# samples of one prompt would only repeat it.
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

keygen() { "$q" watermark keygen --scheme "$scheme" --context "$width"; }
[ -f "$work/key.json" ] || keygen >"$work/key.json"

# serve KEYFLAG PORTFILE: a teacher server on a free port.
serve() {
	"$q" serve "$teacher" --port 0 --parallel 2 $1 >"$work/serve.out" 2>"$work/serve.err" &
	pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\).*#\1#p' "$work/serve.out")
		[ -n "$port" ] && break
		sleep 0.2
	done
	# the model loads after the listener opens
	until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do sleep 0.2; done
}
collect() { # DIR KEYFLAG [PROMPTS]
	[ -f "$work/$1/manifest.json" ] && grep -q '"complete": true' "$work/$1/manifest.json" && return
	serve "$2"
	"$q" distill collect --teacher "http://127.0.0.1:$port/v1#TinyStories-656K-Q8_0" --prompts "${3:-$work/prompts.txt}" \
		--samples 1 --max-tokens 200 --temperature 1 --top-p 1 --seed 1 --concurrency 2 --top-logprobs 1 --out "$work/$1"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
collect marked "--watermark-key-file $work/key.json"
[ -n "$plain" ] && [ ! -e "$work/plain" ] && ln -s "$plain" "$work/plain"
collect plain ""

# field NAME FILE: a number from a one-line JSON object.
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2"; }

# Training sets of equal size: a share of marked records, the rest unmarked.
n=$(wc -l <"$work/marked/samples.jsonl")
mix() { # NAME PERCENT
	m=$((n * $2 / 100))
	{
		head -n "$m" "$work/marked/samples.jsonl"
		tail -n +$((m + 1)) "$work/plain/samples.jsonl" | head -n $((n - m))
	} >"$work/$1.jsonl"
}
mix m100 100
mix m20 20
mix m5 5
mix control 0

# Each suspect reads all our marked outputs (a result already in WORK is
# kept: a rerun resumes).
echo "| suspect | marked share of its training data | p-value (reading our marked outputs) | windows scored | z | p-value, --reference teacher | windows scored | z |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
radio() { # SUSPECT OUT [FLAGS]
	[ -s "$2" ] || "$q" watermark radioactivity --key-file "$work/key.json" --suspect "$1" --data "$work/marked" \
		--tokens "$tokens" ${3:-} --json 2>/dev/null >"$2"
}
row() { # NAME SHARE RADIO REFRADIO
	echo "| $1 | $2 | $(field p_value "$3") | $(field scored "$3") | $(field z "$3") | ${4:+$(field p_value "$4")} | ${4:+$(field scored "$4")} | ${4:+$(field z "$4")} |"
}
radio "$teacher" "$work/teacher.radio.json"
row "teacher (not trained)" - "$work/teacher.radio.json" ""
for s in $students; do
	mkdir -p "$work/$s" # each student's run log, curve and checkpoints apart
	if [ ! -f "$work/$s.gguf" ]; then
		"$q" distill train --data "$work/$s.jsonl" --init "$teacher" --epochs "$epochs" \
			--lr 1e-3 --seq-len 256 --batch 8 --seed 1 --out "$work/$s/student.gguf" >"$work/$s.train.log" 2>&1
		cp "$work/$s/student.gguf" "$work/$s.gguf"
	fi
	radio "$work/$s.gguf" "$work/$s.radio.json"
	radio "$work/$s.gguf" "$work/$s.ref.radio.json" "--reference $teacher"
	share=${s#m}
	[ "$s" = control ] && share=0
	row "$s" "$share%" "$work/$s.radio.json" "$work/$s.ref.radio.json"
done

# The control and the teacher against KEYS other keys, each marking data of
# its own (OTHER prompts' answers): their p-values should be uniform.
# Kolmogorov-Smirnov statistic D; for 20 keys, above 0.294 rejects
# uniformity at the 5% level.
[ -f "$work/control.gguf" ] || nkeys=0
: >"$work/other.p"
: >"$work/other.teacher.p"
for i in $(seq "$nkeys"); do
	o="$work/other$i"
	mkdir -p "$o"
	[ -f "$o/key.json" ] || keygen >"$o/key.json"
	head -n "$other" "$work/prompts.txt" >"$o/prompts.txt"
	collect "other$i/data" "--watermark-key-file $o/key.json" "$o/prompts.txt"
	[ -s "$o/radio.json" ] || "$q" watermark radioactivity --key-file "$o/key.json" --suspect "$work/control.gguf" \
		--data "$o/data" --tokens "$tokens" --json 2>/dev/null >"$o/radio.json"
	[ -s "$o/teacher.radio.json" ] || "$q" watermark radioactivity --key-file "$o/key.json" --suspect "$teacher" \
		--data "$o/data" --tokens "$tokens" --json 2>/dev/null >"$o/teacher.radio.json"
	field p_value "$o/radio.json" >>"$work/other.p"
	field p_value "$o/teacher.radio.json" >>"$work/other.teacher.p"
done
# ks NAME FILE: the sorted p-values of FILE, their count below 0.05 and
# the Kolmogorov-Smirnov distance D from uniform (5% critical value
# 1.358/sqrt(n), close to exact from n = 20 on).
ks() {
	printf '\n%s against %s other keys, each with its own marked data, p-values:' "$1" "$nkeys"
	sort -g "$2" | awk '{ p[NR] = $1; printf " %.3g", $1; if ($1 < 0.05) low++ }
		END { for (i = 1; i <= NR; i++) { a = i / NR - p[i]; b = p[i] - (i - 1) / NR; if (a > d) d = a; if (b > d) d = b }
			printf "\n%d below 0.05; Kolmogorov-Smirnov D = %.3f (n = %d; uniform unless D > %.3f at the 5%% level)\n", low, d, NR, 1.358 / sqrt(NR) }'
}
if [ "$nkeys" -gt 0 ]; then
	ks "control student" "$work/other.p"
	ks "teacher" "$work/other.teacher.p"
fi
[ -f "$work/m100.gguf" ] && [ -f "$work/control.gguf" ] && "$q" watermark report --key-file "$work/key.json" --suspect "$work/m100.gguf" --suspect "$work/control.gguf" \
	--data "$work/marked" --tokens "$tokens" --out "$work/report.html" 2>/dev/null
echo "work files in $work"
