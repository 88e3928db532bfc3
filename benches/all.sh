#!/usr/bin/env bash
# Every table of docs/benchmarks.md, in one run on one machine, one after the
# other (never two at once: they time each other otherwise):
#
#   benches/compare.sh    side by side with git on real releases; it runs
#                         read-latency.sh, remote.sh and scale.sh all too
#   benches/gzip.sh       compressed downloads against their contents
#   benches/producers.sh  which gzip producers split
#   benches/derived.sh    client deltas per release pair
#
# Then it writes benches/results/run.md: when, on what, which commit, and
# how long each took. benches/big-tgz.sh (two 1.5 GiB images) is not part
# of it: run it alone.
#
# usage: benches/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log=$root/benches/results/run.md
start=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD)
rows=()
# The compressed downloads: the six families the tables of docs/benchmarks.md show (two
# per registry), unless the caller names others.
export GZIP_BENCH_PYPI=${GZIP_BENCH_PYPI:-"mypy 1.16.0 1.16.1 1.17.0 1.17.1 1.18.1 1.18.2; attrs 23.1.0 23.2.0 24.1.0 24.2.0 24.3.0 25.1.0"}
export GZIP_BENCH_CRATES=${GZIP_BENCH_CRATES:-"tokio 1.48.0 1.49.0 1.50.0 1.51.0 1.52.0; syn 2.0.110 2.0.111 2.0.112 2.0.113 2.0.114; serde 1.0.225 1.0.226 1.0.227 1.0.228 1.0.229; regex 1.10.0 1.10.1 1.10.2 1.10.3 1.10.4 1.10.5 1.10.6"}
export GZIP_BENCH_NPM=${GZIP_BENCH_NPM:-"typescript 5.4.5 5.5.2 5.5.3 5.5.4 5.6.2 5.6.3; express 4.19.2 4.20.0 4.21.0 4.21.1 4.21.2 5.0.0"}
for b in compare gzip producers derived; do
  t0=$(date +%s)
  "$root/benches/$b.sh"
  rows+=("| benches/$b.sh | $(( $(date +%s) - t0 )) |")
done
{
  echo "# One run of every table of docs/benchmarks.md"
  echo
  echo "Started $start, commit $commit, $(nproc) cores, $(git --version)."
  echo "Reproduce: \`benches/all.sh\`."
  echo
  echo "| script | seconds |"
  echo "|---|---:|"
  printf '%s\n' "${rows[@]}"
} > "$log"
cat "$log"
