#!/usr/bin/env bash
# Prints the median wall time of `npx cdk synth -c instance=example` (synth always does every stack; this CLI ignores --all for synth), the same for an empty CDK app
# (one empty stack; same CLI, flags and cdk.json context), and their ratio. Both apps are built first,
# so the figures are synth time, not compile time. RUNS sets the sample size (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-7}
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
go build -o .build/stratolab .
go build -o .build/emptyapp ./bench/emptyapp
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

measure() { # measure NAME APP-COMMAND [CDK ARGS...]
	local name=$1 app=$2 times=()
	shift 2
	local args=("$@")
	[ ${#args[@]} -gt 0 ] || args=(-c instance=example)
	npx --no-install cdk synth "${args[@]}" -q --app "$app" -o "$out/$name" >/dev/null 2>&1 # warm the disk cache
	for _ in $(seq "$runs"); do
		local start end
		start=$(date +%s%N)
		npx --no-install cdk synth "${args[@]}" -q --app "$app" -o "$out/$name" >/dev/null 2>"$out/$name.err" || {
			cat "$out/$name.err" >&2; exit 1; }
		end=$(date +%s%N)
		times+=($(( (end - start) / 1000000 )))
	done
	printf '%s\n' "${times[@]}" | median
}

app=$(jq -r .app cdk.json 2>/dev/null || node -p 'require("./cdk.json").app')
example=$(measure example "$app")
# The floor runs the way every Go CDK app runs here: a go build staleness check, then the binary.
empty=$(measure empty "go build -o .build/emptyapp ./bench/emptyapp && CDK_VALIDATION=\${CDK_VALIDATION:-false} .build/emptyapp")
printf 'runs per figure:                     %d\n' "$runs"
printf 'example instance synth (median):     %d ms\n' "$example"
printf 'empty CDK app synth (median, floor): %d ms\n' "$empty"
awk -v a="$example" -v b="$empty" 'BEGIN {printf "ratio example/empty:                 %.2f (target <= 1.5)\n", a/b}'

# The hub with 40 profiles and 10 node groups against the hub with 1 of each (bench/instances).
mkdir -p "$out/instances"
cp instance/default.yaml bench/instances/*.yaml "$out/instances/"
hub1=$(measure hub-1 "$app" -c instance=hub-1 -c instance_dir="$out/instances")
hub40=$(measure hub-40 "$app" -c instance=hub-40 -c instance_dir="$out/instances")
printf 'hub, 1 profile/1 node group (median):     %d ms\n' "$hub1"
printf 'hub, 40 profiles/10 node groups (median): %d ms\n' "$hub40"
awk -v a="$hub40" -v b="$hub1" 'BEGIN {printf "ratio hub-40/hub-1:                       %.2f (target <= 1.3)\n", a/b}'
