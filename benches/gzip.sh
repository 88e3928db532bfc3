#!/usr/bin/env bash
# Compressed releases (issue 16): a .tar.gz in the silo is kept as its tar T
# plus small reconstruction data R (preflate-rs), so that consecutive
# releases delta against each other although their gzip streams share
# nothing. This measures it on real downloads, as published.
#
# The corpus: families of consecutive releases fetched with the ordinary
# package clients and kept byte for byte as downloaded (nothing re-tarred):
#   pypi    sdists, `pip download --no-deps --no-binary :all: --no-build-isolation`
#   crates  .crate files, from a throwaway project's `cargo fetch`
#           (copied from $CARGO_HOME/registry/cache/*/)
#   npm     `npm pack NAME@VER` (checked against the registry's dist.shasum)
# cached in $GZIP_BENCH_CACHE (default ~/.cache/trees-gzip-bench), so a
# second run fetches nothing (the fetching is benches/fetch.sh's, shared
# with benches/nightly.sh).
#
# For each family, in one run:
#   (a) silo init, silo add every download as is, silo repack --json:
#       silo bytes (objects/ + pack/, apparent, as `silo du --json`),
#       repack wall seconds and peak RSS, and repack's "split" report
#   (b) git hash-object -w of the same downloads, then
#       git pack-objects --window=250 --depth=50: pack bytes, seconds, RSS
#   (c) a silo of the content: `gzip -dc` of each download to a tar, added
#       and repacked: silo bytes, seconds, RSS
#   (d) one rebuild: `silo cat ID` of the family's largest download, timed,
#       `cmp` with the original (any difference fails the run), against
#       `gzip -9 -c` of its content
#   (e) the "2x" budget: one `gzip -dc` plus one `gzip -9` of every
#       download of the family
# Every download is read back through `silo cat` and compared, and
# `silo verify` checks both silos.
#
# Targets, printed in the summary next to what was measured:
#   silo(downloads) / git(downloads)          <= 0.2
#   silo(downloads) / silo(content)           <= 1.05
#   silo cat (rebuild) / gzip -9 of content   <= 1.5
#   silo repack / (gunzip + gzip -9 of all)   <= 2.0
#
# Writes the Markdown report to $GZIP_BENCH_OUT (default
# benches/results/gzip.md).
#
# usage: benches/gzip.sh [fetch|run|all]   (default all: fetch what is missing, then measure)
#   fetch                     only fill the cache (needs pip, cargo, npm)
#   run                       only measure what the cache holds for the chosen families
#   GZIP_BENCH_CACHE=DIR      the download cache
#   GZIP_BENCH_PYPI="NAME V1 V2 ...[; NAME V1 ...]"   families, ";" between them
#   GZIP_BENCH_CRATES="..."   likewise; GZIP_BENCH_NPM="..." likewise; "" skips one
#   SILO_BIN=path/to/silo     use this silo instead of building one
#   SILO_REPACK_FLAGS="..."   extra flags for every `silo repack` (e.g. --threads 2)
# needs: gzip, git, python3, awk, /usr/bin/time (jq is used when present)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${GZIP_BENCH_CACHE:-$HOME/.cache/trees-gzip-bench}
pypi_families=${GZIP_BENCH_PYPI-mypy 1.16.0 1.16.1 1.17.0 1.17.1 1.18.1 1.18.2}
crate_families=${GZIP_BENCH_CRATES-tokio 1.48.0 1.49.0 1.50.0 1.51.0 1.52.0; syn 2.0.110 2.0.111 2.0.112 2.0.113 2.0.114; serde 1.0.225 1.0.226 1.0.227 1.0.228 1.0.229}
npm_families=${GZIP_BENCH_NPM-typescript 5.4.5 5.5.2 5.5.3 5.5.4 5.6.2 5.6.3}
out_md=${GZIP_BENCH_OUT:-$root/benches/results/gzip.md}
read -r -a extra <<< "${SILO_REPACK_FLAGS:-}"

mode=${1:-all}
case $mode in
  fetch | run | all) ;;
  *) echo "usage: benches/gzip.sh [fetch|run|all]" >&2; exit 2 ;;
esac

# The fetching helpers (families, cached, fetch_all), shared with nightly.sh.
fetch_name=gzip.sh
# shellcheck source=benches/fetch.sh
. "$root/benches/fetch.sh"
families pypi "$pypi_families"
families crates "$crate_families"
families npm "$npm_families"
[ ${#all_families[@]} -gt 0 ] || { echo "gzip.sh: no families chosen" >&2; exit 2; }

# ---------------------------------------------------------------- fetch

if [ "$mode" != run ]; then fetch_all; fi
[ "$mode" = fetch ] && exit 0

# ---------------------------------------------------------------- measure

# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need gzip.sh gzip git python3 awk /usr/bin/time
silo_bin

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timed() { # out-prefix command...: stdout to $1.out, wall seconds to $1.s, peak RSS bytes to $1.rss
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f '%e %M' -o "$1.time" "${@:2}" > "$1.out"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' > "$1.s"
  awk 'END {printf "%.0f\n", $NF * 1024}' "$1.time" > "$1.rss"
}
secs() { cat "$1.s"; }
mb() { awk -v b="$(cat "$1.rss")" 'BEGIN {printf "%.0f", b / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 == 0) print "-"; else printf "%.3f", a / b}'; }
sum() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a + b}'; }
bytes_of() { cat "$@" | wc -c; }
# A value of a JSON file by key path (compact JSON; empty when absent).
jget() { # file key...
  if command -v jq >/dev/null; then
    jq -c 'getpath($ARGS.positional) // empty' "$1" --args "${@:2}" 2>/dev/null || true
  else
    python3 - "$@" <<'EOF' 2>/dev/null || true
import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2:]:
    v = v.get(k) if isinstance(v, dict) else None
if v is not None:
    print(json.dumps(v, separators=(",", ":")))
EOF
  fi
}
# Bytes a silo keeps: every file of objects/ and pack/ (loose blobs, packs,
# idx and whatever else repack writes there), as `silo du --json` counts
# them (apparent bytes); counted with find when du has no --json.
silo_bytes() { # silo
  local o p
  if "$silo" du --json "$1" > "$work/du.json" 2>/dev/null; then
    o=$(jget "$work/du.json" objects apparent_bytes)
    p=$(jget "$work/du.json" pack apparent_bytes)
    if [ -n "$o" ] && [ -n "$p" ]; then echo $((o + p)); return; fi
  fi
  find "$1/objects" "$1/pack" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}'
}
pack_bytes() { find "$1/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}'; }

# Measures one family: prints its table, appends its summary line (ratios,
# peak RSS, repack's split report) to $work/summary.
measure() { # eco name files...
  local eco=$1 name=$2
  shift 2
  local w="$work/$eco-$name" f
  mkdir -p "$w/content"
  local dl raw largest
  dl=$(bytes_of "$@")
  largest=$(stat -c '%s %n' "$@" | awk '$1 > m {m = $1; f = substr($0, length($1) + 2)} END {print f}')

  # (a) the downloads as they are
  "$silo" init "$w/dl.silo" >/dev/null
  timed "$w/dl-add" "$silo" add "$w/dl.silo" "$@"
  timed "$w/dl-repack" "$silo" repack "$w/dl.silo" --json "${extra[@]}"
  "$silo" verify "$w/dl.silo" >/dev/null || { echo "gzip.sh: silo verify failed on the $name downloads" >&2; exit 1; }
  local sdl sdl_pack
  sdl=$(silo_bytes "$w/dl.silo")
  sdl_pack=$(pack_bytes "$w/dl.silo")

  # (b) git on the same downloads
  git init -q --bare "$w/g.git"
  printf '%s\n' "$@" | git --git-dir="$w/g.git" hash-object -w --stdin-paths \
    | paste -d' ' - <(printf '%s\n' "$@" | xargs -n 1 basename) > "$w/list"
  timed "$w/git" git --git-dir="$w/g.git" -c pack.threads=2 pack-objects --window=250 --depth=50 "$w/g" < "$w/list"
  local gb
  gb=$(bytes_of "$w"/g-*.pack)

  # (d) every download read back; the largest one timed
  local id
  while read -r id f; do
    "$silo" cat "$w/dl.silo" "$id" | cmp -s - "$(printf '%s\n' "$@" | grep -F "/$f" | head -n 1)" \
      || { echo "gzip.sh: silo cat $id ($f) is not the download it was given" >&2; exit 1; }
  done < "$w/list"
  id=$(git hash-object "$largest")
  timed "$w/cat" "$silo" cat "$w/dl.silo" "$id"
  if ! cmp "$w/cat.out" "$largest"; then
    echo "gzip.sh: FAIL: silo cat $id rebuilt $(basename "$largest") with other bytes" >&2
    exit 1
  fi
  rm -f "$w/cat.out"

  # (e) and (c): gunzip every download (also the content for (c)), gzip -9 every content
  # shellcheck disable=SC2016 # the inner sh expands them
  timed "$w/gunzip" sh -c 'd=$1; shift; for f; do b=${f##*/}; b=${b%.gz}; b=${b%.tgz}; b=${b%.crate}; b=${b%.tar}
    gzip -dc "$f" > "$d/$b.tar"; done' sh "$w/content" "$@"
  local content=()
  for f in "$@"; do
    f=${f##*/}; f=${f%.gz}; f=${f%.tgz}; f=${f%.crate}; f=${f%.tar}
    content+=("$w/content/$f.tar")
  done
  raw=$(bytes_of "${content[@]}")
  # shellcheck disable=SC2016
  timed "$w/gzip9all" sh -c 'for f; do gzip -9 -c "$f"; done | wc -c' sh "${content[@]}"
  local lc=${largest##*/}
  lc=${lc%.gz}; lc=${lc%.tgz}; lc=${lc%.crate}; lc=${lc%.tar}
  timed "$w/gzip9" gzip -9 -c "$w/content/$lc.tar"
  rm -f "$w/gzip9.out"

  "$silo" init "$w/ct.silo" >/dev/null
  timed "$w/ct-add" "$silo" add "$w/ct.silo" "${content[@]}"
  timed "$w/ct-repack" "$silo" repack "$w/ct.silo" --json "${extra[@]}"
  "$silo" verify "$w/ct.silo" >/dev/null || { echo "gzip.sh: silo verify failed on the $name content" >&2; exit 1; }
  local sct sct_pack
  sct=$(silo_bytes "$w/ct.silo")
  sct_pack=$(pack_bytes "$w/ct.silo")

  local budget
  budget=$(sum "$(secs "$w/gunzip")" "$(secs "$w/gzip9all")")
  echo "### $name ($eco): $# releases, ${versions_of[$eco/$name]}"
  echo
  printf 'Downloads %d bytes, content %d bytes (x%s); largest %s, %d bytes.\n' "$dl" "$raw" "$(ratio "$raw" "$dl")" "$(basename "$largest")" "$(stat -c %s "$largest")"
  echo
  echo "| what | bytes | x downloads | seconds | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|"
  printf '| downloads (%d files) | %d | 1.000 | - | - |\n' "$#" "$dl"
  printf '| (a) silo add, downloads | - | - | %s | %s |\n' "$(secs "$w/dl-add")" "$(mb "$w/dl-add")"
  printf '| (a) **silo repack, downloads** (objects/ + pack/; .pack alone %d) | %d | %s | %s | %s |\n' "$sdl_pack" "$sdl" "$(ratio "$sdl" "$dl")" "$(secs "$w/dl-repack")" "$(mb "$w/dl-repack")"
  printf '| (b) git pack-objects --window=250 --depth=50, downloads | %d | %s | %s | %s |\n' "$gb" "$(ratio "$gb" "$dl")" "$(secs "$w/git")" "$(mb "$w/git")"
  printf '| (c) silo add, content | - | - | %s | %s |\n' "$(secs "$w/ct-add")" "$(mb "$w/ct-add")"
  printf '| (c) silo repack, content (objects/ + pack/; .pack alone %d) | %d | %s | %s | %s |\n' "$sct_pack" "$sct" "$(ratio "$sct" "$dl")" "$(secs "$w/ct-repack")" "$(mb "$w/ct-repack")"
  printf '| (d) silo cat of the largest download (rebuild; identical) | %d | - | %s | %s |\n' "$(stat -c %s "$largest")" "$(secs "$w/cat")" "$(mb "$w/cat")"
  printf '| (d) gzip -9 -c of its content | - | - | %s | %s |\n' "$(secs "$w/gzip9")" "$(mb "$w/gzip9")"
  printf '| (e) gzip -dc of every download | %d | %s | %s | - |\n' "$raw" "$(ratio "$raw" "$dl")" "$(secs "$w/gunzip")"
  printf '| (e) gzip -9 of every content | %d | %s | %s | - |\n' "$(cat "$w/gzip9all.out")" "$(ratio "$(cat "$w/gzip9all.out")" "$dl")" "$(secs "$w/gzip9all")"
  echo
  local split
  split=$(jget "$w/dl-repack.out" split)
  if [ -n "$split" ]; then
    echo "silo repack (downloads) \`split\`: \`$split\`"
  else
    echo "silo repack (downloads) reported no \`split\` field."
  fi
  echo
  # the summary's copy without the per-object reasons (they are above)
  [ -n "$split" ] && split=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
if isinstance(d, dict):
    d.pop("reasons", None)
print(json.dumps(d, separators=(",", ":")))' "$split")
  printf '%s|%s|%s|%s|%s|%s|%s|%s\n' "$name ($eco)" \
    "$(ratio "$sdl" "$gb")" "$(ratio "$sdl" "$sct")" "$(ratio "$(secs "$w/cat")" "$(secs "$w/gzip9")")" \
    "$(ratio "$(secs "$w/dl-repack")" "$budget")" "$(mb "$w/dl-repack")" "$(mb "$w/cat")" "${split:--}" >> "$work/summary"
  rm -rf "$w"
}

meets() { # value target: "yes" when value <= target
  awk -v v="$1" -v t="$2" 'BEGIN {if (v == "-") print "-"; else if (v + 0 <= t + 0) print "yes"; else print "**no**"}'
}

declare -A versions_of
run() {
  echo "# Compressed releases: silo on .tar.gz downloads"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git --version), $("$silo" --version), $(gzip --version | head -n 1)."
  echo
  # shellcheck disable=SC2016 # Markdown backquotes
  printf 'Reproduce: `GZIP_BENCH_PYPI="%s" GZIP_BENCH_CRATES="%s" GZIP_BENCH_NPM="%s" SILO_REPACK_FLAGS="%s" benches/gzip.sh`\n' \
    "$pypi_families" "$crate_families" "$npm_families" "${extra[*]}"
  echo
  local line eco name v
  : > "$work/summary"
  for line in "${all_families[@]}"; do
    read -r eco name versions <<< "$line"
    versions_of[$eco/$name]=$versions
    local files=()
    for v in $versions; do
      f=$(cached "$eco" "$name" "$v")
      [ -s "$f" ] || { echo "gzip.sh: $f is not in the cache: run benches/gzip.sh fetch" >&2; exit 2; }
      files+=("$f")
    done
    measure "$eco" "$name" "${files[@]}"
  done
  echo "## Summary"
  echo
  echo "| family | silo(dl)/git(dl) | ≤ 0.2 | silo(dl)/silo(content) | ≤ 1.05 | cat rebuild/gzip -9 | ≤ 1.5 | repack/(gunzip+gzip -9) | ≤ 2.0 | repack RSS MB | cat RSS MB |"
  echo "|---|---:|---|---:|---|---:|---|---:|---|---:|---:|"
  local fam a b c d rss crss split
  while IFS='|' read -r fam a b c d rss crss split; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$fam" "$a" "$(meets "$a" 0.2)" "$b" "$(meets "$b" 1.05)" \
      "$c" "$(meets "$c" 1.5)" "$d" "$(meets "$d" 2.0)" "$rss" "$crss"
  done < "$work/summary"
  echo
  echo "Split reports of \`silo repack --json\` on the downloads (without \`reasons\`):"
  echo
  while IFS='|' read -r fam a b c d rss crss split; do
    echo "- $fam: \`$split\`"
  done < "$work/summary"
  echo
  echo "silo sizes are every file of objects/ and pack/ (packs, idx and the rest); git's is its .pack alone. Repack runs at its default threads (${extra[*]:-one per core}); gzip is one thread."
}

mkdir -p "$(dirname "$out_md")"
run | tee "$out_md.new"
mv "$out_md.new" "$out_md"
