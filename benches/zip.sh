#!/usr/bin/env bash
# Zip archives stored as their members: real wheels as downloaded, and a
# generated series of CI job results kept as `.wwz` zips.
#
# Corpus:
#   wheels  consecutive releases of a few projects, fetched with
#           `pip download --no-deps --only-binary :all:` into the cache
#           ($ZIP_BENCH_CACHE, default ~/.cache/trees-zip-bench), kept as
#           downloaded; their SHA256 sums are kept in the cache and checked
#           before every run
#   wwz     $ZIP_BENCH_JOBS jobs (default 30) of about $ZIP_BENCH_MEMBERS
#           members each (default 1000) made by benches/wwz.py (logs, spec
#           and benchmark pages that change a little from job to job),
#           each zipped by Info-ZIP `zip -qr` as a CI uploads it
#
# For each family, in one run:
#   (a) silo of the zips as they are: init, add, `repack --json`; bytes of
#       objects/ and pack/, repack seconds and peak RSS
#   (b) silo of the same releases' files: each zip unpacked (unzip) and
#       re-tarred deterministically (tar --sort=name --mtime=@0), added and
#       repacked the same way. Target: (a) / (b) <= 1.1
#   (c) git: hash-object -w of the zips, pack-objects --window=250
#       --depth=50. Target for wheels: (a) / (c) <= 0.5
#   (c') git's pack of the members alone (every unpacked file a blob, the
#       same options): the floor of any store of one member per object in
#       git's pack format, against (b)
#   (d) every zip read back with `silo cat` and compared (cmp): any
#       difference fails the run
# Then one member of a 3,000-member job:
#   (e) `silo cat SILO ID:PATH` against `unzip -p ZIP PATH`, by hyperfine.
#       Target: <= 20 ms
#   (f) the same over nginx on 127.0.0.1, twice with one cache: HTTP
#       requests and bytes of the second. Target: <= 3 requests
#
# Writes the Markdown report to $ZIP_BENCH_OUT (default benches/results/zip.md).
#
# usage: benches/zip.sh [fetch|run|all]   (default all)
#   ZIP_BENCH_WHEELS="NAME V1 V2 ...; NAME V1 ..."   the wheel families
#   ZIP_BENCH_JOBS=N  ZIP_BENCH_MEMBERS=N            the .wwz series
#   SILO_BIN=path/to/silo                            use this silo
# needs: git, python3 with pip, zip, unzip, tar, cmp, sha256sum,
#        /usr/bin/time, hyperfine, nginx, curl
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need zip.sh git python3 zip unzip tar cmp sha256sum hyperfine nginx /usr/bin/time
nginx=$(command -v nginx)

cache=${ZIP_BENCH_CACHE:-$HOME/.cache/trees-zip-bench}
out=${ZIP_BENCH_OUT:-$root/benches/results/zip.md}
wheels=${ZIP_BENCH_WHEELS:-"wheel 0.41.0 0.41.1 0.41.2 0.41.3 0.42.0 0.43.0; packaging 23.0 23.1 23.2 24.0 24.1 24.2; rich 13.5.0 13.5.1 13.5.2 13.5.3 13.6.0 13.7.0; attrs 23.1.0 23.2.0 24.1.0 24.2.0 24.3.0 25.1.0"}
jobs=${ZIP_BENCH_JOBS:-30}
members=${ZIP_BENCH_MEMBERS:-1000}
mode=${1:-all}

# family_files NAME V...: the cached wheel of each version, in order.
family_files() {
  local name=$1 v f
  shift
  for v in "$@"; do
    f=$(find "$cache/$name" -maxdepth 1 -name "*-$v-*.whl" | sort | head -1)
    [ -n "$f" ] || { echo "zip.sh: no wheel of $name $v in $cache/$name (run fetch)" >&2; exit 2; }
    echo "$f"
  done
}

fetch() {
  local fam name v
  IFS=';' read -ra fams <<< "$wheels"
  for fam in "${fams[@]}"; do
    read -ra words <<< "$fam"
    name=${words[0]}
    mkdir -p "$cache/$name"
    for v in "${words[@]:1}"; do
      if ! find "$cache/$name" -maxdepth 1 -name "*-$v-*.whl" | grep -q .; then
        python3 -m pip download -q --no-deps --only-binary :all: -d "$cache/$name" "$name==$v"
      fi
    done
  done
  (cd "$cache" && find . -name '*.whl' | sort | xargs sha256sum > SHA256SUMS)
}

# bytes DIR: apparent bytes of a silo's objects/ and pack/.
bytes() { du -sb --apparent-size "$1/objects" "$1/pack" | awk '{s += $1} END {print s}'; }

# timed LOG CMD...: runs CMD, appending "seconds rss_kb" to LOG.
timed() { local log=$1; shift; /usr/bin/time -f "%e %M" -a -o "$log" "$@"; }

# silo_of DIR FILE...: a repacked silo of the files; prints "bytes secs rss".
silo_of() {
  local s=$1 t
  shift
  "$silo" init "$s" > /dev/null
  "$silo" add "$s" "$@" > "$s.ids"
  t=$(mktemp)
  timed "$t" "$silo" repack "$s" --json > "$s.json"
  echo "$(bytes "$s") $(cat "$t")"
  rm -f "$t"
}

# git_of DIR FILE...: git's pack of the files; prints "bytes secs rss".
git_of() {
  local g=$1 t
  shift
  git init -q --bare "$g"
  git --git-dir="$g" hash-object -w "$@" > "$g.ids"
  t=$(mktemp)
  timed "$t" git --git-dir="$g" pack-objects -q --window=250 --depth=50 "$g/objects/pack/p" < "$g.ids" > /dev/null
  echo "$(du -sb --apparent-size "$g/objects/pack" | cut -f1) $(cat "$t")"
  rm -f "$t"
}

# members_of DIR TREE: git's pack (--window=250 --depth=50) of every
# file under TREE (the unpacked zips' members, each a blob): what any store
# of one member per object pays in git's pack format, before a recipe or a
# table. Prints "bytes" (pack + idx).
members_of() {
  local g=$1
  git init -q --bare "$g"
  find "$2" -mindepth 2 -type f | git --git-dir="$g" hash-object -w --stdin-paths | sort -u > "$g.ids"
  git --git-dir="$g" pack-objects -q --window=250 --depth=50 "$g/objects/pack/p" < "$g.ids" > /dev/null
  du -sb --apparent-size "$g/objects/pack" | cut -f1
}

# retar DIR ZIP...: each zip unpacked and re-tarred into DIR; prints the tars.
retar() {
  local d=$1 z n
  shift
  for z in "$@"; do
    n=$(basename "$z")
    mkdir -p "$d/$n.d"
    unzip -q -o "$z" -d "$d/$n.d"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$d/$n.tar" -C "$d/$n.d" .
    echo "$d/$n.tar"
  done
}

# family LABEL FILE...: (a)-(d) for one family; appends a table row.
family() {
  local label=$1 w a b c ab ac n dl
  shift
  w=$work/$label
  mkdir -p "$w"
  n=$#
  dl=$(cat "$@" | wc -c)
  read -r a_bytes a_s a_rss <<< "$(silo_of "$w/zips.silo" "$@")"
  mapfile -t tars < <(retar "$w/t" "$@")
  read -r b_bytes b_s b_rss <<< "$(silo_of "$w/tars.silo" "${tars[@]}")"
  read -r c_bytes c_s c_rss <<< "$(git_of "$w/git" "$@")"
  m_bytes=$(members_of "$w/members.git" "$w/t")
  while read -r id f; do
    "$silo" cat "$w/zips.silo" "$id" | cmp - "$f" || { echo "zip.sh: $f differs when read back" >&2; exit 1; }
  done < "$w/zips.silo.ids"
  ab=$(python3 -c "print(f'{$a_bytes / $b_bytes:.2f}')")
  ac=$(python3 -c "print(f'{$a_bytes / $c_bytes:.2f}')")
  mb=$(python3 -c "print(f'{$m_bytes / $b_bytes:.2f}')")
  split=$(python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['split']; print(s['by_format'].get('zip', 0))" "$w/zips.silo.json")
  echo "| $label | $n ($split split) | $dl | $a_bytes | $b_bytes | **$ab** | $m_bytes ($mb) | $c_bytes | **$ac** | $a_s s, $((a_rss / 1024)) MB | $b_s s | $c_s s |" >> "$rows"
  echo "zip.sh: $label: silo $a_bytes, re-tarred $b_bytes ($ab x), git $c_bytes ($ac x)" >&2
}

run() {
  silo_bin
  [ -f "$cache/SHA256SUMS" ] || { echo "zip.sh: no cache at $cache (run fetch)" >&2; exit 2; }
  (cd "$cache" && sha256sum --quiet -c SHA256SUMS)
  work=$(mktemp -d)
  trap 'rm -rf "$work"; [ -f "$work.nginx/nginx.pid" ] && kill "$(cat "$work.nginx/nginx.pid")"; rm -rf "$work.nginx"' EXIT
  rows=$work/rows.md
  : > "$rows"
  IFS=';' read -ra fams <<< "$wheels"
  for fam in "${fams[@]}"; do
    read -ra words <<< "$fam"
    mapfile -t files < <(family_files "${words[@]}")
    family "${words[0]}" "${files[@]}"
  done
  # The .wwz series.
  python3 "$root/benches/wwz.py" "$work/jobs" "$jobs" "$members" 1
  mkdir -p "$work/wwz"
  for d in "$work"/jobs/job-*; do
    (cd "$d" && zip -qr "$work/wwz/$(basename "$d").wwz" .)
  done
  family "wwz-$jobs-jobs" "$work"/wwz/*.wwz

  # (e) one member of a 3,000-member job.
  python3 "$root/benches/wwz.py" "$work/big" 1 3000 7
  (cd "$work/big/job-000" && zip -qr "$work/big.wwz" .)
  local big=$work/www/big.silo member=_tmp/soil/logs/task-0100.txt id url stats1 stats2
  mkdir -p "$work/www"
  "$silo" init "$big" > /dev/null
  id=$("$silo" add "$big" "$work/big.wwz" | cut -d' ' -f1)
  "$silo" repack "$big" > /dev/null
  "$silo" cat "$big" "$id:$member" | cmp - <(unzip -p "$work/big.wwz" "$member")
  hyperfine -N -w 3 -r 30 --export-json "$work/hf.json" \
    "$silo cat $big $id:$member" "unzip -p $work/big.wwz $member" > /dev/null
  read -r t_silo t_unzip <<< "$(python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join(f\"{x['median']*1000:.1f}\" for x in r))" "$work/hf.json")"
  # (f) over nginx.
  "$silo" update-server-info "$big" > /dev/null
  start_nginx "$work/www" "$work.nginx"
  url=http://127.0.0.1:$nginx_port/big.silo/
  stats1=$("$silo" cat "$url" "$id:$member" --cache "$work/cache" --stats 2>&1 > /dev/null | tail -1)
  stats2=$("$silo" cat "$url" "$id:$member" --cache "$work/cache" --stats 2>&1 > /dev/null | tail -1)

  {
    echo "# Zip archives stored as their members"
    echo
    echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, silo $(git -C "$root" rev-parse --short HEAD), \`benches/zip.sh\`."
    echo
    echo "| family | zips | downloaded bytes | silo of the zips | silo of the same files re-tarred | ratio (target <= 1.1) | git pack of the members alone (/ re-tarred) | git pack of the zips | silo / git (target <= 0.5) | repack (zips) | repack (tars) | git |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    cat "$rows"
    echo
    echo "One member (\`$member\`, $(unzip -p "$work/big.wwz" "$member" | wc -c) bytes) of a 3,000-member job ($(wc -c < "$work/big.wwz") bytes):"
    echo
    echo "| read | median |"
    echo "|---|---:|"
    echo "| \`silo cat SILO ID:PATH\` (target <= 20 ms) | **$t_silo ms** |"
    echo "| \`unzip -p ZIP PATH\` from disk | $t_unzip ms |"
    echo
    echo "Over nginx on 127.0.0.1 (\`--stats\`): first read $stats1; with the idx files cached $stats2 (target <= 3 requests)."
  } > "$out"
  cat "$out"
}

case $mode in
  fetch) fetch ;;
  run) run ;;
  all) fetch; run ;;
  *) echo "usage: benches/zip.sh [fetch|run|all]" >&2; exit 2 ;;
esac
