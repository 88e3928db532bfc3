#!/usr/bin/env bash
# Distribution packages: a .deb is an ar archive of debian-binary,
# control.tar.xz and data.tar.xz (or .zst, .gz), and an upstream source
# tarball is a .tar.xz. In the silo such a download is kept "split": its
# content (the tars, decompressed) plus a small recipe that re-makes the
# compressed bytes exactly, so that consecutive versions delta against each
# other although their xz streams share nothing. This measures it on real
# packages, as published.
#
# The corpus, fetched with apt-get from the apt index this machine has, and
# kept byte for byte as downloaded (nothing re-packed):
#   debs    families of consecutive .debs: `apt-get download NAME`, one per
#           version. The index holds one version per package name, so the
#           families are series whose names carry the version (kernel ABIs:
#           linux-headers-6.1.0-NN-common, linux-kbuild-6.12.NNN+deb12, ...)
#   tarxz   .tar.xz source tarballs of related versions: a *-source package
#           ships its source tree as /usr/src/*.tar.xz inside its .deb;
#           `apt-get download NAME=VERSION` of two versions, then the
#           tarball taken out with `dpkg-deb --fsys-tarfile | tar -x` (its
#           bytes as the .deb holds them; the .deb is kept too)
# Each .deb's SHA256 is checked against the index when it is fetched, and
# every cached file's SHA256 is kept in $cache/SHA256SUMS and checked again
# before a run. The cache is $PACKAGES_BENCH_CACHE (default
# ~/.cache/trees-packages-bench), so a second run fetches nothing. The
# index changes with every point release and security update (old ABIs
# leave it): what the cache holds is what a run measures, so keep it.
#
# For each family, in one run:
#   (a) silo init, silo add every download as is, silo repack --json:
#       silo bytes (objects/ + pack/, apparent, as `silo du --json`),
#       repack wall seconds and peak RSS, and repack's "split" report
#   (b) git hash-object -w of the same downloads, then
#       git pack-objects --window=250 --depth=50: pack bytes, seconds, RSS
#   (c) a silo of the same packages' files: for a .deb its members as
#       `ar x` gives them, control.tar.* and data.tar.* decompressed
#       (xz -dc, zstd -dc, gzip -dc; debian-binary as is); for a .tar.xz
#       its tar (xz -dc); all added and repacked: silo bytes, seconds, RSS.
#       The headline: silo(downloads) / silo(content), target <= 1.1
#   (d) one rebuild: `silo cat SILO ID > out` of the family's largest
#       download, timed, `cmp` with the original (any difference fails the
#       run), against re-compressing its content at the settings that made
#       it: for xz the preset its dictionary says, with the multi-threaded
#       encoder on one thread (`xz -T+1`, same blocks and bytes as
#       dpkg-deb's) when its blocks carry their sizes, else `xz -T1`; for
#       zstd levels 3 and 19; for gzip -9 and -6. The first try that gives
#       the same bytes is the one timed; when none does, the report says so
#       and times the first
#   (e) every other download read back through `silo cat` and compared
#       (the largest was, in (d)); `silo verify` of both silos
# Each family's section also lists its downloads: bytes, members, how each
# member is compressed (xz: blocks, encoder, dictionary) and content bytes.
#
# Targets, printed in the summary next to what was measured:
#   silo(downloads) / silo(content)           <= 1.1
# and, without a target: silo(downloads) / git(downloads), silo cat of the
# largest / re-compressing its content, and repack(downloads) against an
# estimate of decompressing plus re-compressing every download (measured
# decompression of all, re-compression of the largest scaled by bytes).
#
# Writes the Markdown report to $PACKAGES_BENCH_OUT (default
# benches/results/packages.md).
#
# usage: benches/packages.sh [fetch|run|all]   (default all: fetch what is missing, then measure)
#   fetch                     only fill the cache (needs apt-get, dpkg-deb; runs
#                             `apt-get update` first when the apt lists are empty)
#   run                       only measure what the cache holds for the chosen families
#   PACKAGES_BENCH_CACHE=DIR  the download cache
#   PACKAGES_BENCH_DEBS="TEMPLATE W1 W2 ...[; TEMPLATE W1 ...]"
#                             .deb families, ";" between them. A TEMPLATE with
#                             "@" is a package name with @ replaced by each W
#                             (whatever version the index has of that name); one
#                             without "@" is a package name and the Ws are its
#                             versions (NAME=W). At least two each.
#   PACKAGES_BENCH_TARXZ="..."  .tar.xz families, the same way, of *-source
#                             packages (one .tar.xz under /usr/src each);
#                             "" skips them (and so does "" for the debs)
#   PACKAGES_BENCH_OUT=FILE   the report
#   SILO_BIN=path/to/silo     use this silo instead of building one
#   SILO_REPACK_FLAGS="..."   extra flags for every `silo repack` (e.g. --threads 2)
# needs: git, xz, ar, dpkg-deb, awk, cmp, sha256sum, /usr/bin/time, jq or
# python3; zstd/gzip/bzip2 for members so compressed.
#
# The defaults, from bookworm's index as it was on 2026-12-06:
#   linux-headers-6.1.0-@-common 53..57   5 .debs, 52.5 MB; 307 MB content
#                                         (data.tar 60 MB each: 3 xz blocks)
#   linux-kbuild-6.12.@+deb12 107..118    6 .debs, 11.4 MB; 19.6 MB content
#   xorg-server-source deb12u12, u13      2 .tar.xz, 10.1 MB; 75 MB content
#                                         (Debian-patched xorg-server 21.1.7 trees)
# Every .deb member is xz from dpkg-deb's multi-threaded encoder (blocks of
# 24 MiB that carry their sizes: `xz -T+1 -6` gives the same bytes, `xz -6`
# does not); the tarballs are single-threaded `xz -6`. A data.tar of 60 MB
# takes about 27 s to re-compress on one core, and the silo re-makes each
# download once in repack and once in each read-back: about ten minutes in
# all on 2 cores. The cache of the first run also holds
#   PACKAGES_BENCH_DEBS="linux-image-6.1.0-@-cloud-amd64 53 54 55 56 57"
#       5 .debs of 27 MB, 108 MB data.tar each (5 blocks, ~53 s of xz apiece)
#   PACKAGES_BENCH_TARXZ="glibc-source 2.36-9+deb12u7 2.36-9+deb12u14"
#       2 .tar.xz of 19.5 MB, 252 MB tars (about 1.5 min of xz each)
# which a run can take instead (or add, ";"-separated); the index has
# already moved on from other versions, so keep the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${PACKAGES_BENCH_CACHE:-$HOME/.cache/trees-packages-bench}
deb_families=${PACKAGES_BENCH_DEBS-linux-headers-6.1.0-@-common 53 54 55 56 57; linux-kbuild-6.12.@+deb12 107 111 113 115 117 118}
tarxz_families=${PACKAGES_BENCH_TARXZ-xorg-server-source 2:21.1.7-3+deb12u12 2:21.1.7-3+deb12u13}
out_md=${PACKAGES_BENCH_OUT:-$root/benches/results/packages.md}
read -r -a extra <<< "${SILO_REPACK_FLAGS:-}"

mode=${1:-all}
case $mode in
  fetch | run | all) ;;
  *) echo "usage: benches/packages.sh [fetch|run|all]" >&2; exit 2 ;;
esac

# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"

# One family per ";"-separated part: "TEMPLATE W1 W2 ..." → "kind TEMPLATE W1 W2 ..." in all_families.
all_families=()
families() { # kind spec
  local kind=$1 part
  local -a parts words
  IFS=';' read -r -a parts <<< "$2"
  for part in "${parts[@]}"; do
    read -r -a words <<< "$part"
    [ ${#words[@]} -eq 0 ] && continue
    if [ ${#words[@]} -lt 3 ]; then
      echo "packages.sh: family \"$part\" ($kind) needs a name and at least two versions" >&2
      exit 2
    fi
    all_families+=("$kind ${words[*]}")
  done
}
families deb "$deb_families"
families tarxz "$tarxz_families"
[ ${#all_families[@]} -gt 0 ] || { echo "packages.sh: no families chosen" >&2; exit 2; }

# What apt-get download is given for one member of a family.
spec_of() { # template word
  if [[ $1 == *@* ]]; then echo "${1//@/$2}"; else echo "$1=$2"; fi
}
# A family's folder in the cache.
famdir() { # kind template
  echo "$cache/$1/${2//@/N}"
}
# The cached .deb of one member of a family (nothing when absent).
cached_deb() { # kind template word
  local d pat
  local -a got
  d=$(famdir "$1" "$2")
  [ -d "$d" ] || return 0
  # apt-get download names it NAME_VERSION_ARCH.deb, with an epoch's ":" as "%3a"
  if [[ $2 == *@* ]]; then pat="${2//@/$3}_*.deb"; else pat="$2_${3//:/%3a}_*.deb"; fi
  mapfile -t got < <(find "$d" -maxdepth 1 -type f -name "$pat" | sort)
  if [ ${#got[@]} -gt 1 ]; then
    echo "packages.sh: more than one cached .deb for $(spec_of "$2" "$3") in $d: ${got[*]}" >&2
    exit 2
  fi
  echo "${got[0]:-}"
}
# The .tar.xz taken out of a cached source .deb (nothing when absent).
cached_tarball() { # template word
  local deb stem
  deb=$(cached_deb tarxz "$1" "$2")
  [ -n "$deb" ] || return 0
  stem=$(basename "$deb" .deb)
  [ -d "$(dirname "$deb")/$stem" ] || return 0
  find "$(dirname "$deb")/$stem" -type f -name '*.tar.xz' | sort | head -n 1
}
# What a run measures of one member of a family.
cached() { # kind template word
  if [ "$1" = deb ]; then cached_deb deb "$2" "$3"; else cached_tarball "$2" "$3"; fi
}

# The compression of a file, by its magic bytes: xz, zstd, gzip, bzip2 or none.
compressor() { # file
  local m
  m=$(od -An -tx1 -N6 "$1" | tr -d ' \n')
  case $m in
    fd377a585a00) echo xz ;;
    28b52ffd*) echo zstd ;;
    1f8b*) echo gzip ;;
    425a68*) echo bzip2 ;;
    *) echo none ;;
  esac
}
decompress() { # file: its content to stdout
  case $(compressor "$1") in
    xz) xz -dc "$1" ;;
    zstd) need packages.sh zstd; zstd -qdc "$1" ;;
    gzip) gzip -dc "$1" ;;
    bzip2) need packages.sh bzip2; bzip2 -dc "$1" ;;
    none) cat "$1" ;;
  esac
}
# An xz file's layout, from `xz --robot --list -vv`: blocks, the first
# block's header flags ("cu": sizes in the headers, as the multi-threaded
# encoder writes them; "--" the single-threaded one), its uncompressed
# size, the dictionary and the check. Prints "blocks flags size dict check".
xz_layout() { # file
  xz --robot --list -vv "$1" | awk -F'\t' '
    $1 == "block" { if (n == 0) { f = $13; u = $8; d = $16; c = $10 } n++ }
    END { sub(/.*dict=/, "", d); sub(/[ ,].*/, "", d); if (f == "") f = "-"; if (d == "") d = "-"; if (c == "") c = "-"; print n + 0, f, u + 0, d, c }'
}
# How a member or a tarball is compressed, in words.
shape() { # file
  local c blocks flags size dict check
  c=$(compressor "$1")
  case $c in
    xz)
      read -r blocks flags size dict check < <(xz_layout "$1")
      if [ "$flags" = cu ]; then flags="multi-threaded encoder"; else flags="single-threaded encoder"; fi
      if [ "$blocks" -gt 1 ]; then
        echo "xz, $blocks blocks of $(awk -v s="$size" 'BEGIN {printf "%g", s / 1048576}') MiB, $flags, dict $dict, $check"
      else
        echo "xz, 1 block, $flags, dict $dict, $check"
      fi ;;
    none) echo "not compressed" ;;
    *) echo "$c" ;;
  esac
}

# ---------------------------------------------------------------- fetch

# apt-get download of one package into DIR, its SHA256 checked against the index.
fetch_deb() { # spec dir → the .deb's path on stdout
  local t f pkg ver have index
  local -a got
  # not in the index: status 3 (the caller says so); any other failure ends the run
  apt-cache show "$1" >/dev/null 2>&1 || return 3
  # apt downloads as _apt: into a temporary folder it may write (else it
  # warns and goes on as root), then moved into the cache
  t=$(mktemp -d)
  chmod 755 "$t"
  if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$t"; fi
  if ! (cd "$t" && apt-get download -q "$1" >&2); then
    echo "packages.sh: apt-get download $1 failed" >&2
    rm -rf "$t"
    exit 1
  fi
  mapfile -t got < <(find "$t" -maxdepth 1 -type f -name '*.deb')
  f=${got[0]:-}
  if [ ${#got[@]} -ne 1 ]; then
    echo "packages.sh: apt-get download $1 gave '${got[*]}', not one .deb" >&2
    rm -rf "$t"
    exit 1
  fi
  dpkg-deb --info "$f" >/dev/null || { echo "packages.sh: $f is not a valid .deb" >&2; rm -rf "$t"; exit 1; }
  pkg=$(dpkg-deb -f "$f" Package)
  ver=$(dpkg-deb -f "$f" Version)
  have=$(sha256sum "$f" | cut -d' ' -f1)
  index=$(apt-cache show "$pkg=$ver" 2>/dev/null || true)
  if ! grep -qx "SHA256: $have" <<< "$index"; then
    echo "packages.sh: $(basename "$f") has SHA256 $have, which the index does not give $pkg $ver" >&2
    rm -rf "$t"
    exit 1
  fi
  mv "$f" "$2/"
  rm -rf "$t"
  echo "$2/$(basename "$f")"
}
# The one .tar.xz under /usr/src of a source .deb, into DIR/<deb's name>/usr/src/...
extract_tarball() { # deb
  local d stem t
  local -a got
  d=$(dirname "$1")
  stem=$(basename "$1" .deb)
  t=$(mktemp -d "$d/.part.XXXXXX")
  dpkg-deb --fsys-tarfile "$1" | tar -x -C "$t" --wildcards './usr/src/*'
  mapfile -t got < <(cd "$t" && find usr/src -type f -name '*.tar.xz' | sort)
  if [ ${#got[@]} -ne 1 ]; then
    echo "packages.sh: $(basename "$1") has ${#got[@]} .tar.xz under /usr/src (${got[*]}), not one" >&2
    rm -rf "$t"
    return 1
  fi
  xz -t "$t/${got[0]}" || { echo "packages.sh: $(basename "$1"): ${got[0]} is not a valid .xz" >&2; rm -rf "$t"; exit 1; }
  mkdir -p "$d/$stem/$(dirname "${got[0]}")"
  mv "$t/${got[0]}" "$d/$stem/${got[0]}"
  rm -rf "$t"
}
record_sum() { # file: its SHA256 into $cache/SHA256SUMS (path relative to the cache)
  local rel=${1#"$cache"/}
  (cd "$cache" && sha256sum "$rel") >> "$cache/SHA256SUMS"
}

skipped=() # families a run leaves out, and why (for the report)
fetch_all() {
  local line kind template words w d f spec rc
  need "packages.sh fetch" apt-get apt-cache dpkg-deb ar xz sha256sum tar
  mkdir -p "$cache"
  # An index is needed to find anything: fill it once when it is empty.
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    echo "the apt lists are empty: apt-get update" >&2
    apt-get update -q >&2
  fi
  for line in "${all_families[@]}"; do
    read -r kind template words <<< "$line"
    d=$(famdir "$kind" "$template")
    mkdir -p "$d"
    for w in $words; do
      spec=$(spec_of "$template" "$w")
      f=$(cached_deb "$kind" "$template" "$w")
      if [ -z "$f" ]; then
        echo "fetching $spec ($kind)" >&2
        rc=0
        f=$(fetch_deb "$spec" "$d") || rc=$?
        if [ $rc = 3 ] && [ "$kind" = tarxz ]; then
          echo "packages.sh: $spec is not in the apt index: the $template family is left out" >&2
          break
        elif [ $rc = 3 ]; then
          echo "packages.sh: $spec is not in the apt index (it changes with each update: see \`apt-cache search\`, and PACKAGES_BENCH_DEBS)" >&2
          exit 1
        elif [ $rc != 0 ]; then
          exit 1
        fi
        record_sum "$f"
      fi
      if [ "$kind" = tarxz ] && [ -z "$(cached_tarball "$template" "$w")" ]; then
        extract_tarball "$f" || break
        record_sum "$(cached_tarball "$template" "$w")"
      fi
    done
  done
  echo "cache $cache:" >&2
  local m c
  for line in "${all_families[@]}"; do
    read -r kind template words <<< "$line"
    for w in $words; do
      f=$(cached "$kind" "$template" "$w")
      [ -n "$f" ] || continue
      printf '  %-58s %10d bytes\n' "${f#"$cache"/}" "$(stat -c %s "$f")" >&2
      if [ "$kind" = deb ]; then
        c=$(mktemp)
        for m in $(ar t "$f"); do
          ar p "$f" "$m" > "$c"
          printf '    %-20s %10d bytes, %s, %d bytes content\n' "$m" "$(stat -c %s "$c")" "$(shape "$c")" "$(decompress "$c" | wc -c)" >&2
        done
        rm -f "$c"
      else
        printf '    %s, %d bytes content\n' "$(shape "$f")" "$(xz -dc "$f" | wc -c)" >&2
      fi
    done
  done
}

if [ "$mode" != run ]; then fetch_all; fi
[ "$mode" = fetch ] && exit 0

# ---------------------------------------------------------------- measure

need packages.sh git xz ar awk cmp sha256sum od /usr/bin/time
command -v jq >/dev/null || need packages.sh python3
silo_bin
# xz's multi-threaded encoder on one thread (xz >= 5.4); else on two, which
# gives the same bytes but does not time one core
if echo | xz -T+1 -c >/dev/null 2>&1; then xz_mt=-T+1; else xz_mt=-T2; fi

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
# The same JSON without its "reasons" (they are in the family's section).
without_reasons() { # json
  if command -v jq >/dev/null; then
    jq -c 'if type == "object" then del(.reasons) else . end' <<< "$1"
  else
    python3 -c 'import json, sys
d = json.loads(sys.argv[1])
if isinstance(d, dict):
    d.pop("reasons", None)
print(json.dumps(d, separators=(",", ":")))' "$1"
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

# The compressor commands that may have made ORIG, one a line as
# "stdin|command" or "file|command" (how the content is given to it).
candidates() { # orig
  local blocks flags size dict check mode bs=() ck=() p ps
  case $(compressor "$1") in
    xz)
      read -r blocks flags size dict check < <(xz_layout "$1")
      # sizes in the block headers: the multi-threaded encoder (dpkg-deb's,
      # `xz -T2`...); -T+1 is that encoder on one thread, with the same blocks
      if [ "$flags" = cu ]; then mode=$xz_mt; else mode=-T1; fi
      if [ "$blocks" -gt 1 ]; then bs=("--block-size=$size"); fi
      case $check in
        CRC32) ck=(-C crc32) ;; None) ck=(-C none) ;; SHA-256) ck=(-C sha256) ;;
      esac
      case $dict in
        256KiB) ps="0" ;; 1MiB) ps="1" ;; 2MiB) ps="2" ;; 4MiB) ps="3 4" ;;
        8MiB) ps="6 5" ;; 16MiB) ps="7" ;; 32MiB) ps="8" ;; 64MiB) ps="9" ;; *) ps="6 9" ;;
      esac
      for p in $ps; do echo "stdin|xz $mode -$p ${bs[*]} ${ck[*]} -c"; done
      p=${ps%% *}
      echo "stdin|xz $mode -${p}e ${bs[*]} ${ck[*]} -c" ;;
    zstd)
      # a frame with its content size was written from a file (or with a pledged size)
      local fhd
      fhd=$(od -An -tu1 -j4 -N1 "$1" | tr -d ' ')
      if [ $((fhd >> 6)) -gt 0 ] || [ $(((fhd >> 5) & 1)) = 1 ]; then mode="file"; else mode="stdin"; fi
      if [ $(((fhd >> 2) & 1)) = 0 ]; then ck=(--no-check); fi
      for p in 3 19; do echo "$mode|zstd -q -$p ${ck[*]} -c"; done ;;
    gzip) echo "stdin|gzip -n -9 -c"; echo "stdin|gzip -n -6 -c" ;;
    bzip2) echo "stdin|bzip2 -9 -c" ;;
  esac
}
# Re-makes ORIG from CONTENT with each candidate in turn, timed, until one
# gives ORIG's bytes: $p.s and $p.rss are that try's (the first's when
# none matches), $p.how says which command and whether its bytes were the same.
rematch() { # prefix orig content
  local p=$1 i=0 how c first=""
  local -a cmd
  while IFS='|' read -r how c; do
    read -r -a cmd <<< "$c"
    c="${cmd[*]}"
    c=${c% -c}
    if [ "$how" = file ]; then timed "$p.$i" "${cmd[@]}" "$3"; else timed "$p.$i" "${cmd[@]}" < "$3"; fi
    if [ $i = 0 ]; then cp "$p.0.s" "$p.s"; cp "$p.0.rss" "$p.rss"; first=$c; fi
    if cmp -s "$p.$i.out" "$2"; then
      cp "$p.$i.s" "$p.s"
      cp "$p.$i.rss" "$p.rss"
      rm -f "$p.$i.out"
      echo "\`$c\` (same bytes)" > "$p.how"
      return
    fi
    rm -f "$p.$i.out"
    i=$((i + 1))
  done < <(candidates "$2")
  if [ -z "$first" ]; then
    echo 0 > "$p.s"; echo 0 > "$p.rss"; echo "no compressor known for it" > "$p.how"
  else
    echo "\`$first\` (**other bytes**: none of $i tries gave the original)" > "$p.how"
  fi
}

# The content of one download into DIR: a .deb's members (compressed ones
# decompressed, named without their suffix), a .tar.xz's tar. Appends the
# download's row of the family's table, under NAME, to TABLE.
unpack() { # download dir table name
  local f=$1 d=$2 m c members="" content=0 n
  mkdir -p "$d"
  if [ "$(head -c 8 "$f")" = '!<arch>' ]; then
    for m in $(ar t "$f"); do
      ar p "$f" "$m" > "$d/$m"
      c=$(compressor "$d/$m")
      if [ "$c" = none ]; then
        n=$m
      else
        n=${m%.*}
        decompress "$d/$m" > "$d/$n"
      fi
      members+="$m $(stat -c %s "$d/$m") ($(shape "$d/$m"))<br>"
      [ "$c" = none ] || rm -f "$d/$m"
      content=$((content + $(stat -c %s "$d/$n")))
    done
  else
    n=$(basename "$f" .xz)
    xz -dc "$f" > "$d/$n"
    members="$(shape "$f")"
    content=$(stat -c %s "$d/$n")
  fi
  printf '| %s | %d | %s | %d |\n' "$4" "$(stat -c %s "$f")" "${members%<br>}" "$content" >> "$3"
}

# Measures one family: prints its section, appends its summary line to $work/summary.
measure() { # kind label files...
  local kind=$1 label=$2
  shift 2
  local w="$work/$kind-${label//@/N}" f i
  mkdir -p "$w/content"
  local dl largest id fam
  dl=$(bytes_of "$@")
  largest=$(stat -c '%s %n' "$@" | awk '$1 > m {m = $1; f = substr($0, length($1) + 2)} END {print f}')
  # files are named by their path in the family's folder (two tarballs
  # have the same name), and unpacked into content/N, N their rank
  fam=$(famdir "$kind" "$label")
  name() { echo "${1#"$fam"/}"; }
  cdir() { # download → its content folder
    local j=0 g
    for g in "${files_of[@]}"; do
      j=$((j + 1))
      [ "$g" = "$1" ] && { echo "$w/content/$j"; return; }
    done
  }
  local files_of=("$@")

  # (a) the downloads as they are
  "$silo" init "$w/dl.silo" >/dev/null
  timed "$w/dl-add" "$silo" add "$w/dl.silo" "$@"
  timed "$w/dl-repack" "$silo" repack "$w/dl.silo" --json "${extra[@]}"
  "$silo" verify "$w/dl.silo" >/dev/null || { echo "packages.sh: silo verify failed on the $label downloads" >&2; exit 1; }
  local sdl sdl_pack
  sdl=$(silo_bytes "$w/dl.silo")
  sdl_pack=$(pack_bytes "$w/dl.silo")

  # (b) git on the same downloads
  git init -q --bare "$w/g.git"
  printf '%s\n' "$@" | git --git-dir="$w/g.git" hash-object -w --stdin-paths \
    | paste -d' ' - <(printf '%s\n' "$@" | xargs -n 1 basename) > "$w/ids"
  timed "$w/git" git --git-dir="$w/g.git" -c pack.threads=2 pack-objects --window=250 --depth=50 "$w/g" < "$w/ids"
  local gb
  gb=$(bytes_of "$w"/g-*.pack)
  rm -rf "$w/g.git" "$w"/g-*

  # (d) the largest download rebuilt, timed; (e) every other one read back
  id=$(git hash-object "$largest")
  timed "$w/cat" "$silo" cat "$w/dl.silo" "$id"
  if ! cmp "$w/cat.out" "$largest"; then
    echo "packages.sh: FAIL: silo cat $id rebuilt $(name "$largest") with other bytes" >&2
    exit 1
  fi
  rm -f "$w/cat.out"
  for f in "$@"; do
    [ "$f" = "$largest" ] && continue
    id=$(git hash-object "$f")
    "$silo" cat "$w/dl.silo" "$id" | cmp - "$f" \
      || { echo "packages.sh: FAIL: silo cat $id is not $(name "$f"), the download it was given" >&2; exit 1; }
  done

  # (c) the content: every download unpacked (timed), then a silo of it
  local t0 t1 unpack_s
  : > "$w/table"
  t0=$(date +%s.%N)
  for f in "$@"; do unpack "$f" "$(cdir "$f")" "$w/table" "$(name "$f")"; done
  t1=$(date +%s.%N)
  unpack_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  local content=() raw
  mapfile -t content < <(find "$w/content" -type f | sort)
  raw=$(bytes_of "${content[@]}")
  "$silo" init "$w/ct.silo" >/dev/null
  timed "$w/ct-add" "$silo" add "$w/ct.silo" "${content[@]}"
  timed "$w/ct-repack" "$silo" repack "$w/ct.silo" --json "${extra[@]}"
  "$silo" verify "$w/ct.silo" >/dev/null || { echo "packages.sh: silo verify failed on the $label content" >&2; exit 1; }
  local sct sct_pack
  sct=$(silo_bytes "$w/ct.silo")
  sct_pack=$(pack_bytes "$w/ct.silo")
  rm -rf "$w/ct.silo"

  # (d) the largest download's compressed bytes re-made from its content
  local lc m how="" re_s=0 re_rss=0 raw_l
  lc=$(cdir "$largest")
  raw_l=$(find "$lc" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
  if [ "$kind" = deb ]; then
    for m in $(ar t "$largest"); do
      ar p "$largest" "$m" > "$w/orig"
      [ "$(compressor "$w/orig")" = none ] && continue
      rematch "$w/re-$m" "$w/orig" "$lc/${m%.*}"
      how+="$m: $(cat "$w/re-$m.how"); "
      re_s=$(awk -v a="$re_s" -v b="$(secs "$w/re-$m")" 'BEGIN {printf "%.3f", a + b}')
      re_rss=$(awk -v a="$re_rss" -v b="$(cat "$w/re-$m.rss")" 'BEGIN {print (b > a ? b : a)}')
    done
    rm -f "$w/orig"
  else
    rematch "$w/re" "$largest" "$lc/$(basename "$largest" .xz)"
    how="$(cat "$w/re.how"); "
    re_s=$(secs "$w/re")
    re_rss=$(cat "$w/re.rss")
  fi
  how=${how%; }
  rm -rf "$w/content"
  # decompressing every download, plus re-compressing it as the largest was, scaled by content bytes
  local est
  est=$(awk -v u="$unpack_s" -v r="$re_s" -v a="$raw" -v l="$raw_l" 'BEGIN {printf "%.3f", u + (l > 0 ? r * a / l : 0)}')

  echo "### $label ($kind): $# downloads, ${words_of[$kind/$label]}"
  echo
  printf 'Downloads %d bytes, content %d bytes (x%s); largest %s, %d bytes.\n' "$dl" "$raw" "$(ratio "$raw" "$dl")" "$(name "$largest")" "$(stat -c %s "$largest")"
  echo
  echo "| download | bytes | members (bytes, compression) | content bytes |"
  echo "|---|---:|---|---:|"
  cat "$w/table"
  echo
  echo "| what | bytes | x downloads | seconds | peak RSS MB |"
  echo "|---|---:|---:|---:|---:|"
  printf '| downloads (%d files) | %d | 1.000 | - | - |\n' "$#" "$dl"
  printf '| (a) silo add, downloads | - | - | %s | %s |\n' "$(secs "$w/dl-add")" "$(mb "$w/dl-add")"
  printf '| (a) **silo repack, downloads** (objects/ + pack/; .pack alone %d) | %d | %s | %s | %s |\n' "$sdl_pack" "$sdl" "$(ratio "$sdl" "$dl")" "$(secs "$w/dl-repack")" "$(mb "$w/dl-repack")"
  printf '| (b) git pack-objects --window=250 --depth=50, downloads | %d | %s | %s | %s |\n' "$gb" "$(ratio "$gb" "$dl")" "$(secs "$w/git")" "$(mb "$w/git")"
  printf '| (c) unpack every download (ar, xz/zstd/gzip -dc) | %d | %s | %s | - |\n' "$raw" "$(ratio "$raw" "$dl")" "$unpack_s"
  printf '| (c) silo add, content (%d files) | - | - | %s | %s |\n' "${#content[@]}" "$(secs "$w/ct-add")" "$(mb "$w/ct-add")"
  printf '| (c) **silo repack, content** (objects/ + pack/; .pack alone %d) | %d | %s | %s | %s |\n' "$sct_pack" "$sct" "$(ratio "$sct" "$dl")" "$(secs "$w/ct-repack")" "$(mb "$w/ct-repack")"
  printf '| (d) silo cat of the largest download (rebuild; identical) | %d | - | %s | %s |\n' "$(stat -c %s "$largest")" "$(secs "$w/cat")" "$(mb "$w/cat")"
  printf '| (d) re-compressing its content at its settings, one thread | - | - | %s | %.0f |\n' "$re_s" "$(awk -v b="$re_rss" 'BEGIN {print b / 1e6}')"
  echo
  echo "(d) re-compressing: $how."
  echo
  local split
  split=$(jget "$w/dl-repack.out" split)
  if [ -n "$split" ]; then
    echo "silo repack (downloads) \`split\`: \`$split\`"
  else
    echo "silo repack (downloads) reported no \`split\` field."
  fi
  echo
  [ -n "$split" ] && split=$(without_reasons "$split")
  printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$label ($kind)" \
    "$(ratio "$sdl" "$sct")" "$(ratio "$sdl" "$gb")" "$(ratio "$sdl" "$dl")" \
    "$(ratio "$(secs "$w/cat")" "$re_s")" "$(ratio "$(secs "$w/dl-repack")" "$est")" \
    "$(mb "$w/dl-repack")" "$(mb "$w/cat")" "${split:--}" >> "$work/summary"
  rm -rf "$w"
}

meets() { # value target: "yes" when value <= target
  awk -v v="$1" -v t="$2" 'BEGIN {if (v == "-") print "-"; else if (v + 0 <= t + 0) print "yes"; else print "**no**"}'
}

# The cached files of the chosen families against $cache/SHA256SUMS.
check_sums() { # files...
  local f rel want have
  [ -s "$cache/SHA256SUMS" ] || return 0
  for f in "$@"; do
    rel=${f#"$cache"/}
    want=$(awk -v r="$rel" '{p = $0; sub(/^[0-9a-f]+  /, "", p)} p == r {h = $1} END {print h}' "$cache/SHA256SUMS")
    [ -n "$want" ] || continue
    have=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$want" = "$have" ] || { echo "packages.sh: $f has changed since it was fetched (SHA256 $have, was $want)" >&2; exit 1; }
  done
}

declare -A words_of
run() {
  echo "# Distribution packages: silo on .deb and .tar.xz downloads"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git --version), $("$silo" --version), $(xz --version | head -n 1), $(dpkg-deb --version 2>/dev/null | head -n 1 | sed 's/\.$//' || echo 'no dpkg-deb')."
  echo
  # shellcheck disable=SC2016 # Markdown backquotes
  printf 'Reproduce: `PACKAGES_BENCH_DEBS="%s" PACKAGES_BENCH_TARXZ="%s" SILO_REPACK_FLAGS="%s" benches/packages.sh`\n' \
    "$deb_families" "$tarxz_families" "${extra[*]}"
  echo
  echo "The downloads are as \`apt-get download\` gave them (each SHA256 checked against the apt index); a .tar.xz is the one a *-source .deb ships under /usr/src, taken out with \`dpkg-deb --fsys-tarfile | tar -x\`."
  echo
  local line kind template words w f n
  : > "$work/summary"
  for line in "${all_families[@]}"; do
    read -r kind template words <<< "$line"
    words_of[$kind/$template]=$words
    local files=()
    n=0
    for w in $words; do
      f=$(cached "$kind" "$template" "$w")
      if [ -z "$f" ]; then
        if [ "$kind" = tarxz ]; then
          n=1
          continue
        fi
        echo "packages.sh: $(spec_of "$template" "$w") is not in the cache $cache: run benches/packages.sh fetch" >&2
        exit 2
      fi
      files+=("$f")
    done
    if [ "$n" = 1 ]; then
      skipped+=("$template ($kind): the cache holds ${#files[@]} of its versions ($words); two related versions are needed")
      continue
    fi
    check_sums "${files[@]}"
    measure "$kind" "$template" "${files[@]}"
  done
  [ -n "$tarxz_families" ] || skipped+=("the .tar.xz families: PACKAGES_BENCH_TARXZ is empty")
  if [ ${#skipped[@]} -gt 0 ]; then
    echo "## Left out"
    echo
    for line in "${skipped[@]}"; do echo "- $line"; done
    echo
  fi
  echo "## Summary"
  echo
  echo "| family | **silo(dl)/silo(content)** | ≤ 1.1 | silo(dl)/git(dl) | silo(dl)/downloads | cat rebuild/re-compress | repack/≈(unpack+re-compress all) | repack RSS MB | cat RSS MB |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
  local fam a b c d e rss crss split
  while IFS='|' read -r fam a b c d e rss crss split; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$fam" "$a" "$(meets "$a" 1.1)" "$b" "$c" "$d" "$e" "$rss" "$crss"
  done < "$work/summary"
  echo
  echo "Split reports of \`silo repack --json\` on the downloads (without \`reasons\`):"
  echo
  while IFS='|' read -r fam a b c d e rss crss split; do
    echo "- $fam: \`$split\`"
  done < "$work/summary"
  echo
  echo "silo sizes are every file of objects/ and pack/ (packs, idx and the rest); git's is its .pack alone. Repack runs at its default threads (${extra[*]:-one per core}); re-compressing is one thread (\`xz -T+1\` is the multi-threaded encoder on one thread, giving the bytes dpkg-deb's encoder gives). The last ratio's denominator is an estimate: decompressing every download (measured) plus re-compressing all the content at the rate measured on the largest."
}

mkdir -p "$(dirname "$out_md")"
run | tee "$out_md.new"
mv "$out_md.new" "$out_md"
