#!/usr/bin/env bash
# Side by side on real releases: `silo repack` against git, gzip and xz on
# the same blobs, each family alone and all families in one silo.
#
# The corpus: consecutive source releases fetched with the ordinary package
# clients (pip, npm, cargo), each re-tarred deterministically as an
# uncompressed tar (sorted names, mtime 0, numeric owner 0). It is cached in
# $CORPUS (default benches/.corpus, ignored by git), so a second run fetches
# nothing.
#
# For each set of blobs it measures, in the same run:
#   silo repack                         (2 threads, defaults)
#   git pack-objects --window=10  --depth=50   (what git gc does)
#   git pack-objects --window=250 --depth=50   (git repack -adf --window=250 --depth=50)
#     both fed "<id> <name>" lines, as a repack of referenced blobs would be
#   gzip -6 and xz -9 of each file, and solid xz -9e of the whole set
# and checks that git verify-pack accepts our pack, that git index-pack
# writes an idx identical to ours, and that silo cat returns every blob.
# and prints one Markdown table: bytes, ratio to raw, ratio to git
# aggressive, wall seconds, ratio of time to git aggressive, peak RSS.
#
# Then it appends the read-latency rows (benches/read-latency.sh) and the
# remote-read rows (benches/remote.sh: single objects over HTTP from nginx
# against fetching the whole pack), and writes
# the whole as benches/results/compare.md, and a bar chart of sizes and
# times per tool and set as benches/results/compare.svg (benches/chart.py).
# Last it runs benches/scale.sh all (benches/results/scale.md and scale.svg).
#
# usage: benches/compare.sh            needs pip, npm, cargo, git, xz, gzip, GNU tar, python3, /usr/bin/time
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
corpus=${CORPUS:-$root/benches/.corpus}
mkdir -p "$corpus/dl" "$corpus/tar"

for tool in pip npm cargo git xz gzip tar bc /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "compare.sh needs $tool" >&2; exit 2; }
done

retar() { # src.tgz dst.tar
  local d
  d=$(mktemp -d)
  tar -xzf "$1" -C "$d"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -cf "$2" -C "$d" .
  rm -rf "$d"
}
fetch_pypi() { local name=$1 v; shift
  for v; do
    [ -f "$corpus/tar/$name-$v.tar" ] && continue
    echo "fetching $name $v (pip)" >&2
    pip download -q --no-deps --no-binary :all: -d "$corpus/dl" "$name==$v" >&2
    retar "$corpus/dl/$name-$v.tar.gz" "$corpus/tar/$name-$v.tar"
  done
}
fetch_npm() { local name=$1 v; shift
  for v; do
    [ -f "$corpus/tar/$name-$v.tar" ] && continue
    echo "fetching $name $v (npm)" >&2
    (cd "$corpus/dl" && npm pack -q "$name@$v" >/dev/null)
    retar "$corpus/dl/$name-$v.tgz" "$corpus/tar/$name-$v.tar"
  done
}
fetch_crate() { local name=$1 v p; shift
  for v; do
    [ -f "$corpus/tar/$name-$v.tar" ] && continue
    echo "fetching $name $v (cargo)" >&2
    p="$corpus/dl/cargo-$name-$v"
    mkdir -p "$p/src"
    printf '[workspace]\n[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' "$name" "$v" > "$p/Cargo.toml"
    : > "$p/src/lib.rs"
    cargo fetch -q --manifest-path "$p/Cargo.toml"
    retar "$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$v.crate" | head -n 1)" "$corpus/tar/$name-$v.tar"
  done
}

fetch_pypi mypy 1.10.0 1.10.1 1.11.0 1.11.1 1.11.2 1.12.0
fetch_npm react-dom 18.0.0 18.1.0 18.2.0 18.3.0 18.3.1
fetch_crate syn 2.0.60 2.0.61 2.0.62 2.0.63 2.0.64 2.0.65 2.0.66

cargo build --release -q -p trees-cli
silo=$root/target/release/silo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timed() { # out-prefix command...: wall seconds to $1.s, peak RSS bytes to $1.rss
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$1.time" "${@:2}" > "$1.out"
  t1=$(date +%s.%N)
  printf '%.2f' "$(echo "$t1 - $t0" | bc)" > "$1.s"
  awk '/Maximum resident/ {print $NF * 1024}' "$1.time" > "$1.rss"
}

results=$root/benches/results
mkdir -p "$results"
header() {
echo "| set | tool | bytes | x raw | x git aggressive | seconds | x git time | peak RSS MB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
}
measure() { # name files...
  local name=$1; shift
  local w="$work/$name" raw f
  mkdir -p "$w"
  raw=$(cat "$@" | wc -c)
  # git: the blobs in a bare repository, packed with names.
  git init -q --bare "$w/g.git"
  for f in "$@"; do echo "$(git --git-dir="$w/g.git" hash-object -w "$f") $(basename "$f")"; done > "$w/list"
  timed "$w/g10" git --git-dir="$w/g.git" -c pack.threads=2 pack-objects --window=10 --depth=50 "$w/g10" < "$w/list"
  timed "$w/g250" git --git-dir="$w/g.git" -c pack.threads=2 pack-objects --window=250 --depth=50 "$w/g250" < "$w/list"
  local g10 g250
  g10=$(cat "$w"/g10-*.pack | wc -c)
  g250=$(cat "$w"/g250-*.pack | wc -c)
  # silo: loose, then repacked.
  "$silo" init "$w/s.silo" >/dev/null
  "$silo" add "$w/s.silo" "$@" >/dev/null
  local loose
  loose=$(du -sb "$w/s.silo/objects" | cut -f1)
  timed "$w/silo" "$silo" repack --threads 2 "$w/s.silo"
  local sp
  sp=$(cat "$w"/s.silo/pack/*.pack | wc -c)
  "$silo" verify "$w/s.silo" >/dev/null
  # git accepts the pack, and writes the same idx for it.
  git verify-pack "$w"/s.silo/pack/*.idx
  git index-pack -o "$w/check.idx" "$w"/s.silo/pack/*.pack >/dev/null
  cmp -s "$w/check.idx" "$w"/s.silo/pack/*.idx || { echo "git index-pack wrote another idx for $name" >&2; exit 1; }
  for f in "$@"; do git --git-dir="$w/g.git" hash-object "$f"; done | while read -r id; do
    "$silo" cat "$w/s.silo" "$id" | cmp -s - <(git --git-dir="$w/g.git" cat-file blob "$id") \
      || { echo "silo cat $id differs" >&2; exit 1; }
  done
  # per-file gzip -6 and xz -9, solid xz -9e
  local t0 gz xz9 solid
  t0=$(date +%s.%N); gz=0; for f in "$@"; do gz=$((gz + $(gzip -6 -c "$f" | wc -c))); done
  printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)" > "$w/gz.s"
  t0=$(date +%s.%N); xz9=0; for f in "$@"; do xz9=$((xz9 + $(xz -9 -T1 -c "$f" | wc -c))); done
  printf '%.2f' "$(echo "$(date +%s.%N) - $t0" | bc)" > "$w/xz.s"
  timed "$w/solid" sh -c 'cat "$@" | xz -9e -T1 | wc -c' sh "$@"
  solid=$(cat "$w/solid.out")
  local gt
  gt=$(cat "$w/g250.s")
  row() { # tool bytes seconds rss
    local tr="-" mb="-"
    [ "$3" != "-" ] && tr=$(printf '%.2f' "$(echo "$3 / $gt" | bc -l)")
    [ "$4" != "-" ] && mb=$(( $4 / 1000000 ))
    printf '| %s | %s | %d | %.4f | %.3f | %s | %s | %s |\n' "$name" "$1" "$2" \
      "$(echo "$2 / $raw" | bc -l)" "$(echo "$2 / $g250" | bc -l)" "$3" "$tr" "$mb"
  }
  row "raw ($# tars)" "$raw" - -
  row "loose gzip (silo add)" "$loose" - -
  row "gzip -6 per file" "$gz" "$(cat "$w/gz.s")" -
  row "xz -9 per file" "$xz9" "$(cat "$w/xz.s")" -
  row "solid xz -9e" "$solid" "$(cat "$w/solid.s")" "$(cat "$w/solid.rss")"
  row "git pack-objects window 10 (gc)" "$g10" "$(cat "$w/g10.s")" "$(cat "$w/g10.rss")"
  row "git pack-objects window 250 (aggressive)" "$g250" "$gt" "$(cat "$w/g250.rss")"
  row "**silo repack**" "$sp" "$(cat "$w/silo.s")" "$(cat "$w/silo.rss")"
}

run_all() {
header
t="$corpus/tar"
measure mypy "$t"/mypy-*.tar
measure react-dom "$t"/react-dom-*.tar
measure syn "$t"/syn-*.tar
# All families in one silo, added in a shuffled (seeded) order.
mapfile -t all < <(ls "$t"/*.tar | shuf --random-source=<(yes 42))
measure mixed "${all[@]}"
echo
"$root/benches/read-latency.sh"
echo
"$root/benches/remote.sh"
}
run_all | tee "$results/compare.md.new"
mv "$results/compare.md.new" "$results/compare.md"
python3 "$root/benches/chart.py" "$results/compare.md" "$results/compare.svg"
# Then how silo scales (generated data: blob counts, incremental repack, a
# large image), written to benches/results/scale.md and scale.svg.
"$root/benches/scale.sh" all
