#!/usr/bin/env bash
# One big .tar.gz through the silo, within bounded memory (issue 16:
# compressed releases; not for CI: minutes of CPU, about 6 × the tar's size
# of free disk).
#
# Two tars of at least 1.5 GiB each (gen-image's two versions of an image:
# $BIG_TGZ_MIB MiB, default 1600, $BIG_TGZ_LAYERS layers, default 24; the
# second shares most of the first, as a rebuilt layer does) are compressed
# with GNU gzip -6, then:
#   silo init, silo add both .tar.gz, silo repack --memory $BIG_TGZ_MEMORY --json
#   (default 1G), silo verify, silo cat ID | cmp - FILE.tar.gz of each
# Both must be stored split (a lone one would stay whole: its content
# relates to nothing), the second's content a delta of the first's.
# each under /usr/bin/time -v: elapsed seconds and "Maximum resident set
# size". gzip -6 and gzip -dc of the same file are timed beside them, for
# scale. Targets: every silo step's peak RSS < $BIG_TGZ_RSS_LIMIT (default
# 2G), and silo cat returns the .tar.gz byte for byte; the script exits 1
# when one is missed, after printing the table.
#
# The tar and its .tar.gz stay in $BIG_TGZ_DIR (default /tmp/big-tgz) and
# are reused by the next run with the same size and layers; the silo is made
# anew each run (BIG_TGZ_KEEP=1 keeps it).
#
# usage: benches/big-tgz.sh
#   BIG_TGZ_DIR=DIR          work directory (default /tmp/big-tgz)
#   BIG_TGZ_MIB=N            size of the generated tar in MiB (default 1600)
#   BIG_TGZ_LAYERS=N         its layers (default 24)
#   BIG_TGZ_TAR=FILE.tar     use this tar instead of generating one
#   BIG_TGZ_MEMORY=1G        silo repack --memory
#   BIG_TGZ_RSS_LIMIT=2G     the peak RSS every silo step must stay under
#   SILO_BIN=path/to/silo    use this silo instead of building one
#   GEN_IMAGE_BIN=path       use this gen-image instead of `cargo run -p trees-testdata`
#   SILO_REPACK_FLAGS="..."  extra flags for silo repack
# needs: gzip, git, awk, /usr/bin/time (GNU time: -v)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${BIG_TGZ_DIR:-/tmp/big-tgz}
mib=${BIG_TGZ_MIB:-1600}
layers=${BIG_TGZ_LAYERS:-24}
memory=${BIG_TGZ_MEMORY:-1G}
read -r -a extra <<< "${SILO_REPACK_FLAGS:-}"

bytes() { # 2G, 512M, 100K, 123 → bytes
  awk -v s="$1" 'BEGIN {
    n = s + 0; u = toupper(substr(s, length(s)))
    if (u == "K") n *= 1024; else if (u == "M") n *= 1048576; else if (u == "G") n *= 1073741824
    printf "%.0f\n", n }'
}
limit=$(bytes "${BIG_TGZ_RSS_LIMIT:-2G}")
min_tar=$((1536 << 20)) # 1.5 GiB

# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need big-tgz.sh gzip git awk /usr/bin/time
silo_bin

mkdir -p "$dir"
avail=$(df -B1M --output=avail "$dir" | tail -n 1 | tr -d ' ')
if ((avail < mib * 6)) && [ ! -s "$dir/big.tar.gz" ]; then
  echo "big-tgz.sh needs about $((mib * 6)) MiB free in $dir, has $avail MiB" >&2
  exit 2
fi

# Runs a step under /usr/bin/time -v; its figures go to $dir/NAME.time.
step() { # name command...
  /usr/bin/time -v -o "$dir/$1.time" "${@:2}"
}
elapsed() { # name: wall seconds ("h:mm:ss" or "m:ss.ss" in time -v)
  awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f\n", s }' "$dir/$1.time"
}
rss() { awk '/Maximum resident set size/ {printf "%.0f\n", $NF * 1024}' "$dir/$1.time"; }

# The tar and its .tar.gz, made once for a size and layer count.
stamp="mib=$mib layers=$layers tar=${BIG_TGZ_TAR:-generated}"
if [ ! -s "$dir/big.tar.gz" ] || [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -f "$dir/big.tar" "$dir/big.tar.gz" "$dir/big2.tar" "$dir/big2.tar.gz" "$dir/stamp" "$dir"/gen.time
  if [ -n "${BIG_TGZ_TAR:-}" ]; then
    cp "$BIG_TGZ_TAR" "$dir/big.tar"
  else
    echo "generating a $mib MiB image tar ($layers layers) in $dir" >&2
    if [ -n "${GEN_IMAGE_BIN:-}" ]; then
      step gen "$GEN_IMAGE_BIN" 1 "$mib" "$layers" 10 "$dir/gen" >/dev/null
    else
      step gen cargo run --release -q -p trees-testdata --bin gen-image -- 1 "$mib" "$layers" 10 "$dir/gen" >/dev/null
    fi
    mv "$dir/gen/image-1.tar" "$dir/big.tar"
    mv "$dir/gen/image-2.tar" "$dir/big2.tar"
    rm -rf "$dir/gen"
  fi
  echo "gzip -6 of $(stat -c %s "$dir/big.tar") bytes" >&2
  # shellcheck disable=SC2016 # the inner sh expands them
  step gzip6 sh -c 'gzip -6 -c "$1" > "$2"' sh "$dir/big.tar" "$dir/big.tar.gz"
  if [ -s "$dir/big2.tar" ]; then
    # shellcheck disable=SC2016
    sh -c 'gzip -6 -c "$1" > "$2"' sh "$dir/big2.tar" "$dir/big2.tar.gz"
  fi
  echo "$stamp" > "$dir/stamp"
fi
tar_bytes=$(stat -c %s "$dir/big.tar")
gz_bytes=$(stat -c %s "$dir/big.tar.gz")
if ((tar_bytes < min_tar)); then
  if [ -n "${BIG_TGZ_TAR:-}" ]; then
    echo "warning: the tar has $tar_bytes bytes, less than 1.5 GiB: not the test this is meant to be" >&2
  else
    echo "big-tgz.sh: gen-image made $tar_bytes bytes, less than 1.5 GiB: raise BIG_TGZ_MIB" >&2
    exit 1
  fi
fi
# shellcheck disable=SC2016
[ -f "$dir/gzip6.time" ] || step gzip6 sh -c 'gzip -6 -c "$1" > /dev/null' sh "$dir/big.tar"
# shellcheck disable=SC2016
step gunzip sh -c 'gzip -dc "$1" > /dev/null' sh "$dir/big.tar.gz"

id=$(git hash-object "$dir/big.tar.gz")
gzs=("$dir/big.tar.gz")
[ ! -s "$dir/big2.tar.gz" ] || gzs+=("$dir/big2.tar.gz")
gz_bytes=$(stat -c %s "${gzs[@]}" | awk '{s += $1} END {printf "%.0f\n", s}')
s=$dir/s.silo
rm -rf "$s"
failed=()
step init "$silo" init "$s" >/dev/null
step add "$silo" add "$s" "${gzs[@]}" >/dev/null
step repack "$silo" repack "$s" --memory "$memory" --json "${extra[@]}" > "$dir/repack.json"
if ! step verify "$silo" verify "$s" > "$dir/verify.out"; then
  failed+=("silo verify")
fi
if ! step cat "$silo" cat "$s" "$id" | cmp - "$dir/big.tar.gz"; then
  failed+=("silo cat | cmp")
fi
if [ ${#gzs[@]} -gt 1 ]; then
  id2=$(git hash-object "$dir/big2.tar.gz")
  if ! step cat2 "$silo" cat "$s" "$id2" | cmp - "$dir/big2.tar.gz"; then
    failed+=("silo cat of the second | cmp")
  fi
fi
silo_bytes=$(find "$s/objects" "$s/pack" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')

split=
if command -v jq >/dev/null; then
  split=$(jq -c '.split // empty' "$dir/repack.json" 2>/dev/null || true)
else
  split=$(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(json.dumps(d["split"], separators=(",", ":")) if "split" in d else "")' "$dir/repack.json" 2>/dev/null || true)
fi

echo "# One big .tar.gz: silo add, repack, verify and cat within bounded memory"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $("$silo" --version), $(gzip --version | head -n 1)."
echo
printf 'The first tar: %s, %d bytes (%.2f GiB); both .tar.gz (gzip -6): %d bytes. silo objects/ + pack/ after repack: %d bytes (x%.3f of the .tar.gz files).\n' \
  "${BIG_TGZ_TAR:-gen-image 1 $mib $layers 10 (image-1.tar)}" "$tar_bytes" "$(awk -v b="$tar_bytes" 'BEGIN {print b / 1073741824}')" \
  "$gz_bytes" "$silo_bytes" "$(awk -v a="$silo_bytes" -v b="$gz_bytes" 'BEGIN {print a / b}')"
echo
echo "| step | seconds | peak RSS MB | < $(awk -v b="$limit" 'BEGIN {printf "%.0f", b / 1048576}') MiB |"
echo "|---|---:|---:|---|"
for name in gzip6 gunzip; do
  printf '| %s (for scale) | %s | %d | - |\n' "$( [ $name = gzip6 ] && echo "gzip -6" || echo "gzip -dc")" "$(elapsed "$name")" "$(($(rss $name) / 1000000))"
done
names=(init add repack verify cat)
[ ! -f "$dir/cat2.time" ] || names+=(cat2)
for name in "${names[@]}"; do
  r=$(rss "$name")
  ok=yes
  if ((r >= limit)); then ok="**no**"; failed+=("silo $name peak RSS $r bytes"); fi
  label="silo $name"
  [ "$name" = repack ] && label="silo repack --memory $memory${extra[*]:+ ${extra[*]}}"
  [ "$name" = cat ] && label="silo cat ID of the first (piped to cmp with its .tar.gz: identical)"
  [ "$name" = cat2 ] && label="silo cat ID of the second, a delta (cmp: identical)"
  printf '| %s | %s | %d | %s |\n' "$label" "$(elapsed "$name")" "$((r / 1000000))" "$ok"
done
echo
if [ -n "$split" ]; then echo "silo repack \`split\`: \`$split\`"; else echo "silo repack reported no \`split\` field."; fi
n_split=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["split"]["split"])' "$dir/repack.json" 2>/dev/null || echo 0)
if ((n_split < ${#gzs[@]})); then failed+=("only $n_split of ${#gzs[@]} stored split"); fi
echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED:"
  printf -- '- %s\n' "${failed[@]}"
fi
if [ "${BIG_TGZ_KEEP:-0}" != 1 ]; then rm -rf "$s"; fi
[ ${#failed[@]} -eq 0 ]
