#!/usr/bin/env bash
# Every table of the README, in one run on one machine, one after the
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
for b in compare gzip producers derived; do
  t0=$(date +%s)
  "$root/benches/$b.sh"
  rows+=("| benches/$b.sh | $(( $(date +%s) - t0 )) |")
done
{
  echo "# One run of every README table"
  echo
  echo "Started $start, commit $commit, $(nproc) cores, $(git --version)."
  echo "Reproduce: \`benches/all.sh\`."
  echo
  echo "| script | seconds |"
  echo "|---|---:|"
  printf '%s\n' "${rows[@]}"
} > "$log"
cat "$log"
