#!/usr/bin/env bash
# Which gzip producers silo can split (issue 16: a .tar.gz kept as its tar T
# plus reconstruction data R). One real tar is compressed by every producer
# available here, at the levels people use, and each result, together with
# the real downloads of benches/gzip.sh's cache, goes through
# `silo split-check --json FILE`, which analyses it as repack would, rebuilds
# it from T and R and compares. Producers:
#   GNU gzip -1 .. -9, gzip -6 --rsyncable, two gzip -6 members (cat a.gz b.gz)
#   pigz -6, -9, -11 (zopfli mode)
#   Python gzip.compress (levels 6, 9), tarfile.open(mode='w:gz') (level 9)
#   node zlib.gzipSync (levels 1, 6, 9: Chromium's zlib)
#   flate2 on zlib-rs (levels 1-9; cargo packages at 9), through
#     deflate/examples/gzip-rs.rs, built here; levels 1 and 6 also fed in
#     512-byte writes
#   flate2's default backend, miniz_oxide (levels 1, 6, 9), through
#     deflate/examples/gzip-miniz.rs
#   7-Zip's deflate (7zz or 7z a -tgzip, -mx1, -mx5, -mx9), when installed
#   Go's compress/gzip (levels 1, 6, 9), when go is installed (a ten-line
#     program built here)
#   git archive --format=tar.gz (default level, -9) of a repository of the tar's files
#   libdeflate-gzip -1 ... -12
#   zopfli (--i$ZOPFLI_ITERATIONS, default 15 as zopfli's own)
#   the downloads in $GZIP_BENCH_CACHE (pip sdists, cargo .crate, npm pack)
# A producer whose tool is missing is skipped and named at the end.
#
# Prints a Markdown table: producer, level, .gz bytes, split or not (and
# why not), members, R bytes, R as % of the .gz, analyse and rebuild
# seconds. What to hope for: zlib-based producers (GNU gzip, Python, git,
# cargo) split with R well under 1 % of the .gz; the others at least fail
# fast, with a reason.
#
# usage: benches/producers.sh
#   PRODUCERS_TAR=FILE.tar   the tar to compress (default: the content of the largest
#                            sdist in the cache, else a ~16 MB tar of /usr/include)
#   GZIP_BENCH_CACHE=DIR     benches/gzip.sh's download cache (default ~/.cache/trees-gzip-bench)
#   SILO_BIN=path/to/silo    use this silo instead of building one
#   ZOPFLI_ITERATIONS=N      zopfli --iN (default 15)
#   PRODUCERS_SKIP_SLOW=1    leave out pigz -11 and zopfli (each over a minute on 20 MB here)
#   PRODUCERS_OUT=FILE       the report (default benches/results/producers.md)
# needs: gzip, git, python3, tar, cargo, /usr/bin/time; uses pigz, node, libdeflate-gzip,
# zopfli, 7z and go when present (apt: pigz nodejs libdeflate-tools zopfli 7zip golang-go)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${GZIP_BENCH_CACHE:-$HOME/.cache/trees-gzip-bench}
zopfli_i=${ZOPFLI_ITERATIONS:-15}
skip_slow=${PRODUCERS_SKIP_SLOW:-0}
out_md=${PRODUCERS_OUT:-$root/benches/results/producers.md}

# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need producers.sh gzip git python3 tar awk /usr/bin/time
silo_bin
has_check=1
if ! "$silo" split-check --help >/dev/null 2>&1; then
  has_check=0
  echo "warning: $silo has no split-check; the table has the producers' sizes only" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gz"

# The tar: given, or the largest cached sdist's content, or /usr/include.
tar_from=
if [ -n "${PRODUCERS_TAR:-}" ]; then
  cp "$PRODUCERS_TAR" "$work/in.tar"
  tar_from=$PRODUCERS_TAR
else
  sdist=$( (find "$cache/pypi" -type f -name '*.tar.gz' -printf '%s %p\n' 2>/dev/null || true) \
    | awk '$1 > m {m = $1; f = substr($0, length($1) + 2)} END {print f}')
  if [ -n "$sdist" ]; then
    gzip -dc "$sdist" > "$work/in.tar"
    tar_from="gzip -dc $(basename "$sdist")"
  else
    find /usr/include -type f -name '*.h' -printf '%s %P\n' | sort -k2 \
      | awk '{s += $1; if (s <= 16000000) print $2}' > "$work/list"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$work/in.tar" -C /usr/include -T "$work/list"
    tar_from="the first 16 MB of /usr/include/**/*.h"
  fi
fi
tar_bytes=$(stat -c %s "$work/in.tar")

missing=()
have() { # tool: true when present, else remembered as missing
  if command -v "$1" >/dev/null; then return 0; fi
  [[ " ${missing[*]} " == *" $1 "* ]] || missing+=("$1")
  return 1
}

# Each producer writes $work/gz/NN.gz; $work/rows holds "file|producer|level|seconds".
n=0
produce() { # producer level command... (stdout is the .gz)
  local f
  f=$(printf '%s/gz/%02d.gz' "$work" "$n")
  n=$((n + 1))
  local t0 t1
  t0=$(date +%s.%N)
  "${@:3}" > "$f"
  t1=$(date +%s.%N)
  printf '%s|%s|%s|%s\n' "$f" "$1" "$2" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" >> "$work/rows"
}
: > "$work/rows"
in=$work/in.tar

for l in 1 2 3 4 5 6 7 8 9; do produce "GNU gzip" "-$l" gzip "-$l" -c "$in"; done
produce "GNU gzip --rsyncable" -6 gzip -6 --rsyncable -c "$in"
half=$((tar_bytes / 2))
# shellcheck disable=SC2016 # the inner sh expands them
produce "GNU gzip, 2 members (cat a.gz b.gz)" -6 sh -c 'head -c "$1" "$2" | gzip -6; tail -c +"$(($1 + 1))" "$2" | gzip -6' sh "$half" "$in"

if have pigz; then
  # (pigz's output does not depend on its thread count)
  for l in 6 9 11; do
    [ "$l" = 11 ] && ((skip_slow)) && continue
    produce "pigz $(pigz --version 2>&1 | cut -d' ' -f2)" "-$l" pigz "-$l" -c "$in"
  done
fi

for l in 6 9; do
  produce "Python gzip.compress" "$l" python3 -c 'import gzip, sys; sys.stdout.buffer.write(gzip.compress(open(sys.argv[1], "rb").read(), int(sys.argv[2]), mtime=0))' "$in" "$l"
done
# tarfile as sdist builders use it: the same members, written anew.
produce "Python tarfile.open(mode='w:gz')" "9 (default)" python3 -c '
import sys, tarfile
with tarfile.open(sys.argv[1]) as src, tarfile.open(fileobj=sys.stdout.buffer, mode="w:gz") as dst:
    for m in src:
        dst.addfile(m, src.extractfile(m) if m.isfile() else None)
' "$in"

if have node; then
  for l in 1 6 9; do
    produce "node zlib.gzipSync ($(node -p process.versions.zlib))" "$l" node -e '
const fs = require("fs"), zlib = require("zlib");
process.stdout.write(zlib.gzipSync(fs.readFileSync(process.argv[1]), {level: +process.argv[2]}));' "$in" "$l"
  done
fi

# git archive: a repository of the tar's files, one commit.
mkdir -p "$work/repo"
tar -xf "$in" -C "$work/repo"
git -C "$work/repo" init -q
git -C "$work/repo" add -A -f
git -C "$work/repo" -c user.name=bench -c user.email=bench@example.org commit -q -m tree
produce "git archive --format=tar.gz ($(git --version | cut -d' ' -f3))" "default" git -C "$work/repo" archive --format=tar.gz HEAD
produce "git archive --format=tar.gz ($(git --version | cut -d' ' -f3))" "-9" git -C "$work/repo" archive --format=tar.gz -9 HEAD
rm -rf "$work/repo"

cargo build -q --release -p trees-deflate --example gzip-rs
for l in 1 2 3 4 5 6 7 8 9; do
  produce "flate2 on zlib-rs (cargo: 9)" "$l" "$root/target/release/examples/gzip-rs" "$l" < "$in"
done
# A program that writes its tar piece by piece (tar::Builder: 512-byte
# headers, then the data) gives zlib-rs its input in pieces; at levels 1, 5
# and 6 zlib-ng's parsers restart a little at each piece.
for l in 1 6; do
  produce "flate2 on zlib-rs, 512-byte writes" "$l" "$root/target/release/examples/gzip-rs" "$l" 512 < "$in"
done

# miniz_oxide, flate2's default backend (maturin's sdists, most Rust
# programs that write gzip), through deflate/examples/gzip-miniz.rs.
cargo build -q --release -p trees-deflate --example gzip-miniz
for l in 1 6 9; do
  produce "flate2 on miniz_oxide (default backend)" "$l" "$root/target/release/examples/gzip-miniz" "$l" < "$in"
done

if have libdeflate-gzip; then
  for l in 1 2 3 4 5 6 7 8 9 10 11 12; do produce "libdeflate-gzip" "-$l" libdeflate-gzip "-$l" -c "$in"; done
fi
# Debian's 7zip package installs 7zz; p7zip's is 7z.
sz=
if command -v 7zz >/dev/null; then sz=7zz; elif have 7z; then sz=7z; fi
if [ -n "$sz" ]; then
  for l in 1 5 9; do
    # shellcheck disable=SC2016 # the inner sh expands them
    produce "7-Zip $("$sz" i 2>/dev/null | awk '/^7-Zip/ {print $3; exit}') deflate ($sz a -tgzip)" "-mx$l" sh -c 'rm -f "$3.gz"; "$1" a -tgzip -bd -bso0 "-mx$2" "$3.gz" "$3" && cat "$3.gz" && rm -f "$3.gz"' sh "$sz" "$l" "$in"
  done
fi
if have go; then
  mkdir -p "$work/gogz"
  cat > "$work/gogz/main.go" <<'GO'
package main

import (
	"compress/gzip"
	"io"
	"os"
	"strconv"
)

func main() {
	level, _ := strconv.Atoi(os.Args[1])
	w, err := gzip.NewWriterLevel(os.Stdout, level)
	if err != nil {
		panic(err)
	}
	if _, err := io.Copy(w, os.Stdin); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
}
GO
  (cd "$work/gogz" && GOCACHE="$work/gocache" go build -o gogz main.go)
  for l in 1 6 9; do produce "Go $(go version | cut -d' ' -f3) compress/gzip" "$l" "$work/gogz/gogz" "$l" < "$in"; done
fi
if ((!skip_slow)) && have zopfli; then
  produce "zopfli" "--i$zopfli_i" zopfli "--i$zopfli_i" -c "$in"
fi

# The real downloads, as fetched by benches/gzip.sh fetch.
ndl=0
while read -r f; do
  case $f in
    */pypi/*) p="pip sdist" ;;
    */crates/*) p="cargo .crate" ;;
    */npm/*) p="npm pack" ;;
    *) p="download" ;;
  esac
  printf '%s|%s %s|%s|%s\n' "$f" "$p" "$(basename "$f")" "-" "-" >> "$work/rows"
  ndl=$((ndl + 1))
done < <(find "$cache" -type f \( -name '*.tar.gz' -o -name '*.tgz' -o -name '*.crate' \) 2>/dev/null | sort)

# The check of each file, and its row.
check() { # file: JSON of split-check to stdout, or {"error": "..."}
  if ((!has_check)); then
    echo '{"error": "no split-check"}'
    return
  fi
  local rc=0
  "$silo" split-check --json "$1" > "$work/check.json" 2> "$work/check.err" || rc=$?
  if ((rc == 0)); then
    cat "$work/check.json"
  else
    python3 -c 'import json, sys; print(json.dumps({"error": "exit %s: %s" % (sys.argv[2], (open(sys.argv[1]).read().strip().splitlines() or [""])[-1])}))' "$work/check.err" "$rc"
  fi
}
row() { # file producer level seconds json
  python3 - "$@" <<'EOF'
import json, os, sys
f, producer, level, secs, text = sys.argv[1:6]
dec, i, d = json.JSONDecoder(), 0, {}
while i < len(text):  # the object of this file (one per file; maybe pretty-printed)
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    obj, i = dec.raw_decode(text, i)
    d = obj
    if os.path.basename(str(obj.get("file", ""))) == os.path.basename(f):
        break
gz = os.path.getsize(f)
def num(k, fmt):
    v = d.get(k)
    return "-" if v is None else fmt % v
if d.get("error") == "no split-check":
    split = "-"
elif "error" in d:
    split = "error: " + (str(d["error"]).strip().splitlines() or [""])[0].replace("|", "/")
elif d.get("split"):
    split = "yes"
else:
    # the reason's first line (preflate-rs appends a backtrace)
    why = (str(d.get("reason", "?")).strip().splitlines() or ["?"])[0]
    split = "no (%s)" % why.replace("|", "/")
    d = {k: v for k, v in d.items() if k in ("seconds_analyse", "seconds_rebuild")}
members = num("members", "%d")
if d.get("chunks") is not None and members != "-":
    members += " / %d" % d["chunks"]
r = d.get("recipe_bytes")
pct = "-" if r is None or not d.get("split") else "%.3f" % (100.0 * r / gz)
print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
    producer, level, gz, secs, split, members, num("content_bytes", "%d"),
    num("recipe_bytes", "%d"), pct, num("seconds_analyse", "%.2f"), num("seconds_rebuild", "%.2f")))
EOF
}

run() {
  echo "# gzip producers: what silo split-check makes of them"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $("$silo" --version)."
  echo
  echo "The tar: $tar_from, $tar_bytes bytes. Made by: how long the producer took. R: the reconstruction data kept beside the tar."
  echo
  echo "| producer | level | .gz bytes | made in s | split | members / chunks | content bytes | R bytes | R % of .gz | analyse s | rebuild s |"
  echo "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"
  local f p l s
  while IFS='|' read -r f p l s; do
    row "$f" "$p" "$l" "$s" "$(check "$f")"
  done < "$work/rows"
  echo
  echo "$ndl downloads from $cache."
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Missing here, so not measured: ${missing[*]}."
  else
    echo "No producer was missing."
  fi
  if ((skip_slow)); then
    echo "PRODUCERS_SKIP_SLOW=1: pigz -11 and zopfli left out."
  fi
  if ((!has_check)); then
    echo "This silo has no split-check: sizes only."
  fi
}

mkdir -p "$(dirname "$out_md")"
run | tee "$out_md.new"
mv "$out_md.new" "$out_md"
