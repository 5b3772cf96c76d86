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
# about 20 minutes when they are idle, more than an hour at load average 25):
#
#	sh docs/provenance.sh                 # prints the table of docs/provenance.md
#	PROMPTS=200 EPOCHS=1 sh docs/provenance.sh   # a quick run
#	WORK=/tmp/prov sh docs/provenance.sh  # keep the datasets, students and report (a rerun resumes)
set -eu
teacher=${TEACHER:-${QILIN_TESTDATA:-../shared/testdata}/models/TinyStories-656K-Q8_0.gguf}
prompts=${PROMPTS:-1000}
epochs=${EPOCHS:-2}
tokens=${TOKENS:-1000000} # tokens of our marked outputs each suspect reads: all of them
other=${OTHER:-200}       # prompts answered with each of the control's 20 other keys
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

[ -f "$work/key.json" ] || "$q" watermark keygen >"$work/key.json"

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
		--samples 1 --max-tokens 200 --temperature 1 --top-p 1 --seed 1 --concurrency 2 --out "$work/$1"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}
collect marked "--watermark-key-file $work/key.json"
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
echo "| suspect | marked share of its training data | p-value (reading our marked outputs) | windows scored | z |"
echo "| --- | ---: | ---: | ---: | ---: |"
radio() { # SUSPECT OUT
	[ -s "$2" ] || "$q" watermark radioactivity --key-file "$work/key.json" --suspect "$1" --data "$work/marked" \
		--tokens "$tokens" --json 2>/dev/null >"$2"
}
radio "$teacher" "$work/teacher.radio.json"
echo "| teacher (not trained) | - | $(field p_value "$work/teacher.radio.json") | $(field scored "$work/teacher.radio.json") | $(field z "$work/teacher.radio.json") |"
for s in m100 m20 m5 control; do
	mkdir -p "$work/$s" # each student's run log, curve and checkpoints apart
	if [ ! -f "$work/$s.gguf" ]; then
		"$q" distill train --data "$work/$s.jsonl" --init "$teacher" --epochs "$epochs" \
			--lr 1e-3 --seq-len 256 --batch 8 --seed 1 --out "$work/$s/student.gguf" >"$work/$s.train.log" 2>&1
		cp "$work/$s/student.gguf" "$work/$s.gguf"
	fi
	radio "$work/$s.gguf" "$work/$s.radio.json"
	share=${s#m}
	[ "$s" = control ] && share=0
	echo "| $s | $share% | $(field p_value "$work/$s.radio.json") | $(field scored "$work/$s.radio.json") | $(field z "$work/$s.radio.json") |"
done

# The control against 20 other keys, each marking data of its own (OTHER
# prompts' answers): its p-values should be uniform. Kolmogorov-Smirnov
# statistic D of the 20; above 0.294 rejects uniformity at the 5% level.
: >"$work/other.p"
for i in $(seq 20); do
	o="$work/other$i"
	mkdir -p "$o"
	[ -f "$o/key.json" ] || "$q" watermark keygen >"$o/key.json"
	head -n "$other" "$work/prompts.txt" >"$o/prompts.txt"
	collect "other$i/data" "--watermark-key-file $o/key.json" "$o/prompts.txt"
	[ -s "$o/radio.json" ] || "$q" watermark radioactivity --key-file "$o/key.json" --suspect "$work/control.gguf" \
		--data "$o/data" --tokens "$tokens" --json 2>/dev/null >"$o/radio.json"
	field p_value "$o/radio.json" >>"$work/other.p"
done
printf '\ncontrol student against 20 other keys, each with its own marked data, p-values:'
sort -g "$work/other.p" | awk '{ p[NR] = $1; printf " %.3g", $1 }
	END { for (i = 1; i <= NR; i++) { a = i / NR - p[i]; b = p[i] - (i - 1) / NR; if (a > d) d = a; if (b > d) d = b }
		printf "\nKolmogorov-Smirnov D = %.3f (n = %d; uniform unless D > 0.294 at the 5%% level)\n", d, NR }'
"$q" watermark report --key-file "$work/key.json" --suspect "$work/m100.gguf" --suspect "$work/control.gguf" \
	--data "$work/marked" --tokens "$tokens" --out "$work/report.html" 2>/dev/null
echo "work files in $work"
