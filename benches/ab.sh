#!/usr/bin/env bash
# Two builds of `silo` on the same inputs, alternately, in one run: the
# way to say that a change did not make repack slower, bigger or hungrier
# (the machine's speed drifts between runs; alternating cancels it).
#
# For each set: a new silo, `silo add` of all but its last two files,
# `silo repack` (full: the first repack), then `silo add` of the last two
# and `silo repack` again (incremental: the nightly job). Prints one table
# row per set, round and build: seconds, peak RSS MB and pack bytes of
# each repack.
#
# usage: benches/ab.sh OLD_SILO NEW_SILO ROUNDS SET...
#   SET is a name and a glob of files: mypy='benches/.corpus/tar/mypy-*.tar'
set -euo pipefail
old=$1 new=$2 rounds=$3
shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
measure() { # command...: prints its wall seconds and peak RSS MB
  /usr/bin/time -f "%e %M" -o "$work/t" "$@" >/dev/null
  read -r secs kb <"$work/t"
  printf '%s %s' "$secs" "$((kb / 1024))"
}
echo "| set | build | round | full repack s | MB | pack bytes | incremental s | MB | pack bytes |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for set in "$@"; do
  name=${set%%=*}
  # shellcheck disable=SC2206
  files=(${set#*=})
  n=${#files[@]}
  for r in $(seq 1 "$rounds"); do
    for build in old new; do
      bin=$old
      [ "$build" = new ] && bin=$new
      s=$work/$build.silo
      rm -rf "$s"
      "$bin" init "$s" >/dev/null
      "$bin" add "$s" "${files[@]:0:n-2}" >/dev/null
      full=$(measure "$bin" repack "$s" --threads 2)
      fb=$(du -bc "$s"/pack/*.pack | tail -1 | cut -f1)
      "$bin" add "$s" "${files[@]:n-2}" >/dev/null
      inc=$(measure "$bin" repack "$s" --threads 2)
      ib=$(du -bc "$s"/pack/*.pack | tail -1 | cut -f1)
      read -r fs fm <<<"$full"
      read -r is im <<<"$inc"
      echo "| $name | $build | $r | $fs | $fm | $fb | $is | $im | $ib |"
    done
  done
done
