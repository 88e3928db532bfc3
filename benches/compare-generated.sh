#!/usr/bin/env bash
# Side by side on generated data (no network): two release families from
# the seeded generator, stored loose, repacked by `silo repack`, and the same
# blobs packed by git at its default window and at its most aggressive.
# Prints bytes, ratio to git aggressive, wall seconds and peak RSS.
# usage: benches/compare-generated.sh [RELEASES_PER_FAMILY]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-10}
cargo build --release -q -p trees-cli -p trees-testdata
bin=$PWD/target/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin/gen-series" alpha 1 "$n" "$work/in" medium >/dev/null
"$bin/gen-series" beta 2 "$n" "$work/in" medium >/dev/null
raw=$(cat "$work"/in/*.tar | wc -c)

measure() { # name command...: runs it under /usr/bin/time-like accounting
  local name=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" > "$work/$name.out" 2> "$work/$name.err"
  t1=$(date +%s.%N)
  printf "%.2f" "$(echo "$t1 - $t0" | bc)"
}
rss() { grep -E 'Maximum resident' "$1" | awk '{print $NF * 1024}'; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 2; }

"$bin/silo" init "$work/s.silo" >/dev/null
"$bin/silo" add "$work/s.silo" "$work"/in/*.tar >/dev/null
loose=$("$bin/silo" du "$work/s.silo" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["objects"]["apparent_bytes"])')
silo_s=$(measure silo /usr/bin/time -v "$bin/silo" repack "$work/s.silo" --json)
silo_b=$(cat "$work"/s.silo/pack/*.pack | wc -c)
silo_rss=$(rss "$work/silo.err")

git init -q --bare "$work/g.git"
for f in "$work"/in/*.tar; do
  echo "$(git --git-dir="$work/g.git" hash-object -w "$f") $(basename "$f")"
done > "$work/list"
row() { # window
  local w=$1 s
  s=$(measure "git$w" /usr/bin/time -v git --git-dir="$work/g.git" pack-objects --window="$w" --depth=50 "$work/git$w" < "$work/list")
  echo "$s $(cat "$work"/git"$w"-*.pack | wc -c) $(rss "$work/git$w.err")"
}
read -r g10_s g10_b g10_rss < <(row 10)
read -r g250_s g250_b g250_rss < <(row 250)

printf '%-34s %12s %10s %10s %9s %12s\n' tool bytes "x raw" "x git250" seconds "peak RSS"
line() { printf '%-34s %12d %10.4f %10.3f %9s %12s\n' "$1" "$2" "$(echo "$2 / $raw" | bc -l)" "$(echo "$2 / $g250_b" | bc -l)" "$3" "$4"; }
line "raw tars ($((2 * n)) blobs)" "$raw" - -
line "loose gzip -6 (silo add)" "$loose" - -
line "git pack-objects --window=10" "$g10_b" "$g10_s" "$g10_rss"
line "git pack-objects --window=250" "$g250_b" "$g250_s" "$g250_rss"
line "silo repack" "$silo_b" "$silo_s" "$silo_rss"
