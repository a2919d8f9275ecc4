#!/usr/bin/env bash
# The registry's benchmarks: the index build of a 1,000,000-row manifest merged with 1,000,000
# existing rows (target < 5 s, < 1 GiB), a catalog.json rebuild for 1,000 datasets (target < 1 s), and
# a whole ingest of 10,000 small files through an in-process S3 server (target >= 500 files/s).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== registry: index build (1M + 1M rows), catalog rebuild (1,000 datasets), ingest (10,000 files)"
go test -run '^$' -bench 'IndexBuild1M|CatalogRebuild1000|Ingest10kFiles' -benchmem -benchtime 1x -count "${RUNS_REGISTRY:-3}" ./internal/ingest |
	grep -E '^Benchmark'
