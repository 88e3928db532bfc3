#!/usr/bin/env bash
# Read latency: N random objects read from a repacked pack (max depth 10
# and 50) against the same objects read loose (gunzip), each in one
# `silo cat --batch` process, so the delta-base cache works as it would in
# a server. Prints Markdown rows.
# usage: benches/read-latency.sh [RELEASES] [N]   (default 60 releases, 30 reads)
set -euo pipefail
cd "$(dirname "$0")/.."
releases=${1:-60}
n=${2:-30}
cargo build --release -q -p trees-cli -p trees-testdata
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/gen-series" long 7 "$releases" "$work/in" medium >/dev/null
"$bin/silo" init "$work/loose" >/dev/null
"$bin/silo" add "$work/loose" "$work"/in/*.tar | cut -d' ' -f1 > "$work/ids"
# N ids, seeded shuffle, repeats allowed as a server would see them.
shuf -n "$n" -r --random-source=<(yes 7) "$work/ids" > "$work/pick"
time_batch() { # silo
  local t0 t1
  t0=$(date +%s.%N)
  "$bin/silo" cat "$1" --batch < "$work/pick" > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}
loose=$(time_batch "$work/loose")
echo "| read $n random objects of $releases releases | seconds | x loose |"
echo "|---|---:|---:|"
printf '| loose (gunzip) | %.3f | 1.00 |\n' "$loose"
for depth in 10 50; do
  cp -r "$work/loose" "$work/d$depth"
  "$bin/silo" repack "$work/d$depth" --max-depth "$depth" >/dev/null
  t=$(time_batch "$work/d$depth")
  printf '| pack, max depth %d | %.3f | %.2f |\n' "$depth" "$t" "$(echo "$t / $loose" | bc -l)"
done
