#!/usr/bin/env bash
# Prints the median wall time of `npx cdk synth -c instance=example` (synth always does every stack; this CLI ignores --all for synth), the same for an empty CDK app
# (one empty stack; same CLI, flags and cdk.json context), and their ratio. Both apps are built first,
# so the figures are synth time, not compile time. RUNS sets the sample size (default 7).
#
# The two sides of a ratio run alternately (A B A B ...), and the ratio printed is the median of the
# per-pair ratios: this VM's speed drifts by ±30% over a minute, which would bias a ratio of two
# medians taken one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
go build -o .build/stratolab .
go build -o .build/emptyapp ./bench/emptyapp
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

synth_ms() { # synth_ms NAME APP-COMMAND CDK-ARGS...: one synth, its wall time in ms
	local name=$1 app=$2 start end
	shift 2
	start=$(date +%s%N)
	npx --no-install cdk synth "$@" -q --app "$app" -o "$out/$name" >/dev/null 2>"$out/$name.err" || {
		cat "$out/$name.err" >&2; exit 1; }
	end=$(date +%s%N)
	echo $(( (end - start) / 1000000 ))
}

# pair A-NAME A-APP A-ARGS B-NAME B-APP B-ARGS: prints "median-A median-B median-of-A/B"; ARGS are one
# word each, split on spaces.
pair() {
	local a=$1 aapp=$2 aargs=$3 b=$4 bapp=$5 bargs=$6 ta tb as=() bs=() rs=()
	# shellcheck disable=SC2086
	synth_ms "$a" "$aapp" $aargs >/dev/null # warm the disk cache and the output directories
	# shellcheck disable=SC2086
	synth_ms "$b" "$bapp" $bargs >/dev/null
	for _ in $(seq "$runs"); do
		# shellcheck disable=SC2086
		ta=$(synth_ms "$a" "$aapp" $aargs)
		# shellcheck disable=SC2086
		tb=$(synth_ms "$b" "$bapp" $bargs)
		as+=("$ta") bs+=("$tb") rs+=("$(awk -v x="$ta" -v y="$tb" 'BEGIN {printf "%.4f", x/y}')")
	done
	echo "$(printf '%s\n' "${as[@]}" | median) $(printf '%s\n' "${bs[@]}" | median) $(printf '%s\n' "${rs[@]}" | median)"
}

app=$(jq -r .app cdk.json 2>/dev/null || node -p 'require("./cdk.json").app')
# The floor runs the way every Go CDK app runs here: a go build staleness check, then the binary.
emptyapp="go build -o .build/emptyapp ./bench/emptyapp && CDK_VALIDATION=\${CDK_VALIDATION:-false} .build/emptyapp"
read -r example empty ratio < <(pair example "$app" "-c instance=example" empty "$emptyapp" "-c instance=example")
printf 'runs per figure:                     %d (alternating)\n' "$runs"
printf 'example instance synth (median):     %d ms\n' "$example"
printf 'empty CDK app synth (median, floor): %d ms\n' "$empty"
printf 'ratio example/empty (median of pairs): %.2f (target <= 1.5)\n' "$ratio"

# The hub with 40 profiles and 10 node groups against the hub with 1 of each (bench/instances).
mkdir -p "$out/instances"
cp instance/default.yaml bench/instances/*.yaml "$out/instances/"
dir="-c instance_dir=$out/instances"
read -r hub40 hub1 hubratio < <(pair hub-40 "$app" "-c instance=hub-40 $dir" hub-1 "$app" "-c instance=hub-1 $dir")
printf 'hub, 1 profile/1 node group (median):     %d ms\n' "$hub1"
printf 'hub, 40 profiles/10 node groups (median): %d ms\n' "$hub40"
printf 'ratio hub-40/hub-1 (median of pairs):     %.2f (target <= 1.3)\n' "$hubratio"

# The worker agent's own cost per job (internal/jobagent): receive, claim, download 10 inputs, run a
# trivial command, upload 10 outputs and the log, record, delete; S3 through the SDK to an in-process server.
go test ./internal/jobagent -run '^$' -bench AgentOverheadPerJob -benchtime "${AGENT_JOBS:-50}x" -count 1 |
	awk '/^BenchmarkAgentOverheadPerJob/ {printf "worker agent overhead per job:       %.1f ms (target < 100)\n", $3 / 1e6}'
