#!/usr/bin/env bash
# How `silo repack` scales, side by side with git, on generated data (no
# network). Three parts, each selectable:
#
#   counts       for N in $SCALE_COUNTS (default 100 500 2000) blobs: four fifths
#                in $SCALE_FAMILIES (default 12) long per-commit series
#                (gen-commits small, ~150 KB a version, one small commit apart),
#                one fifth in release series of 25 releases (gen-series small,
#                ~300 KB, a third of the files changed per release; N/125 of
#                them), so raw bytes grow as N does, added in a seeded shuffled order to
#                a new silo, then `silo repack --full` (three runs from the same
#                loose state: the median); the same blobs packed by
#                `git pack-objects --window=250 --depth=50`. Bytes, wall
#                seconds, peak RSS, and the growth of time between the last
#                two N.
#   incremental  the N=$SCALE_INCR_N (default 500) silo after its full repack,
#                plus the next version of 5 of its families: `silo repack`
#                (incremental, the default) against `silo repack --full` on a
#                copy of the same state. Times and total pack bytes.
#   image        two versions of a container-image-like tar (gen-image: $IMAGE_MIB
#                MiB, default 1536, $IMAGE_LAYERS layers, default 24, 10 % of
#                them changed): `silo add` and `silo repack --full --memory
#                $IMAGE_MEMORY` (default 2G) against `git hash-object -w` and
#                `git pack-objects` at its defaults. Needs about 7 × IMAGE_MIB of
#                free disk in $TMPDIR (10 GiB at the default).
#
# Writes Markdown tables to $SCALE_OUT (default benches/results/scale.md) and,
# when counts ran, a chart of time and peak RSS against blob count next to it
# (scale.svg, benches/scale-chart.py).
#
# usage: benches/scale.sh [counts|incremental|image|all]...   (default all)
#   SILO_BIN=path/to/silo    use this silo (then only trees-testdata is built,
#                            into ${CARGO_TARGET_DIR:-target})
#   SILO_REPACK_FLAGS="..."  extra flags for every `silo repack` (e.g. --threads 2)
# A silo without `repack --full` or `--memory` gets a warning and runs without them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
counts=${SCALE_COUNTS:-100 500 2000}
families=${SCALE_FAMILIES:-12}
incr_n=${SCALE_INCR_N:-500}
image_mib=${IMAGE_MIB:-1536}
image_layers=${IMAGE_LAYERS:-24}
image_memory=${IMAGE_MEMORY:-2G}
out_md=${SCALE_OUT:-$root/benches/results/scale.md}
read -r -a extra <<< "${SILO_REPACK_FLAGS:-}"

parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(all)
run_counts=0 run_incr=0 run_image=0
for p in "${parts[@]}"; do
  case $p in
    counts) run_counts=1 ;;
    incremental) run_incr=1 ;;
    image) run_image=1 ;;
    all) run_counts=1 run_incr=1 run_image=1 ;;
    *) echo "usage: benches/scale.sh [counts|incremental|image|all]..." >&2; exit 2 ;;
  esac
done

for tool in git bc shuf python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "scale.sh needs $tool" >&2; exit 2; }
done

if [ -n "${SILO_BIN:-}" ]; then
  cargo build --release -q -p trees-testdata
  silo=$SILO_BIN
else
  cargo build --release -q -p trees-cli -p trees-testdata
  silo=$root/target/release/silo
fi
bin=${CARGO_TARGET_DIR:-$root/target}/release
[ -x "$silo" ] || { echo "no silo at $silo" >&2; exit 2; }

# Flags the new repack has and an older silo may lack: dropped with a warning.
repack_help=$("$silo" repack --help)
full=() memory=()
if grep -q -- '--full' <<< "$repack_help"; then full=(--full); else
  echo "warning: $silo repack has no --full; running without it (a repack there is always full)" >&2
fi
if grep -q -- '--memory' <<< "$repack_help"; then memory=(--memory "$image_memory"); else
  echo "warning: $silo repack has no --memory; running without it" >&2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

timed() { # out-prefix command...: wall seconds to $1.s, peak RSS bytes to $1.rss
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$1.time" "${@:2}" > "$1.out"
  t1=$(date +%s.%N)
  printf '%.2f' "$(echo "$t1 - $t0" | bc)" > "$1.s"
  awk '/Maximum resident/ {printf "%d\n", $NF * 1024}' "$1.time" > "$1.rss"
}
mb() { echo $(( $1 / 1000000 )); }
ratio() { printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }
bytes_of() { cat "$@" | wc -c; }
silo_bytes() { # a silo's packs plus what is left loose
  local p o
  p=$(find "$1/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  o=$(find "$1/objects" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
  echo $((p + o))
}

# The blobs of one N: four fifths in $families commit series (a tarball
# of every commit: N=2000 gives 100 or more versions each), one fifth in
# release series of 25 releases each (more series as N grows), so that a
# blob's mean size does not grow with N and the raw bytes grow as N does;
# plus the next version of each commit series in next/.
make_set() { # N dir
  local n=$1 d=$2 i k
  local nc=$((n * 4 / 5)) ns=$((n - n * 4 / 5))
  local sf=$(((ns + 24) / 25))
  mkdir -p "$d/in" "$d/next"
  for ((i = 0; i < families; i++)); do
    k=$((nc / families + (i < nc % families ? 1 : 0)))
    "$bin/gen-commits" "c$i" "$((1000 + i))" "$((k + 1))" "$d/gen" >/dev/null
    mv "$(ls "$d"/gen/*.tar | tail -n 1)" "$d/next/"
    mv "$d"/gen/*.tar "$d/in/" 2>/dev/null || true
  done
  for ((i = 0; i < sf; i++)); do
    k=$((ns / sf + (i < ns % sf ? 1 : 0)))
    "$bin/gen-series" "s$i" "$((2000 + i))" "$k" "$d/in" >/dev/null
  done
  rm -rf "$d/gen"
}

# counts: one row per N; keeps the N=$incr_n silo for the incremental part.
counts_row() { # N
  local n=$1 d="$work/n$1"
  make_set "$n" "$d"
  mapfile -t files < <(ls "$d"/in/*.tar | shuf --random-source=<(yes 42))
  local raw
  raw=$(bytes_of "${files[@]}")
  "$silo" init "$d/s.silo" >/dev/null
  "$silo" add "$d/s.silo" "${files[@]}" >/dev/null
  # Three runs from the same loose state; the median's time and memory.
  cp -a "$d/s.silo" "$d/loose.silo"
  local r
  for r in 1 2 3; do
    rm -rf "$d/s.silo"
    cp -a "$d/loose.silo" "$d/s.silo"
    timed "$d/silo$r" "$silo" repack "$d/s.silo" "${full[@]}" --json "${extra[@]}"
  done
  rm -rf "$d/loose.silo"
  r=$(for r in 1 2 3; do echo "$(cat "$d/silo$r.s") $r"; done | sort -n | sed -n 2p | cut -d' ' -f2)
  cp "$d/silo$r.s" "$d/silo.s"
  cp "$d/silo$r.rss" "$d/silo.rss"
  local sb
  sb=$(silo_bytes "$d/s.silo")
  git init -q --bare "$d/g.git"
  printf '%s\n' "${files[@]}" | git --git-dir="$d/g.git" hash-object -w --stdin-paths \
    | paste -d' ' - <(printf '%s\n' "${files[@]}" | xargs -n 1 basename) > "$d/list"
  timed "$d/git" git --git-dir="$d/g.git" pack-objects --window=250 --depth=50 "$d/g" < "$d/list"
  local gb
  gb=$(bytes_of "$d"/g-*.pack)
  rm -rf "$d/g.git" "$d"/g-*
  [ "$n" = "$incr_n" ] || rm -rf "$d/s.silo"
  rm -rf "$d/in"
  local ss gs
  ss=$(cat "$d/silo.s") gs=$(cat "$d/git.s")
  printf '| %d | %.1f | %d | %s | %d | %d | %s | %d | %s | %s |\n' "$n" "$(echo "$raw / 1000000" | bc -l)" \
    "$sb" "$ss" "$(mb "$(cat "$d/silo.rss")")" "$gb" "$gs" "$(mb "$(cat "$d/git.rss")")" \
    "$(ratio "$ss" "$gs")" "$(ratio "$sb" "$gb")"
  echo "$n $ss $gs" >> "$work/growth"
}

part_counts() {
  echo "## Blob count: silo repack${full:+ ${full[*]}} against git pack-objects --window=250 --depth=50"
  echo
  echo "N blobs: 4/5 in $families per-commit series (gen-commits small), 1/5 in release series of 25 releases (gen-series small), added in a shuffled order."
  echo
  echo "| blobs | raw MB | silo pack bytes | silo s | silo RSS MB | git pack bytes | git s | git RSS MB | time silo/git | size silo/git |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  local n
  for n in $counts; do counts_row "$n"; done
  if [ "$(wc -l < "$work/growth")" -ge 2 ]; then
    read -r n1 s1 g1 < <(tail -n 2 "$work/growth" | head -n 1)
    read -r n2 s2 g2 < <(tail -n 1 "$work/growth")
    echo
    printf 'Growth %d → %d blobs (×%s): silo time ×%s, git time ×%s.\n' "$n1" "$n2" \
      "$(printf '%.1f' "$(echo "$n2 / $n1" | bc -l)")" \
      "$(printf '%.2f' "$(echo "$s2 / ($s1 + 0.005)" | bc -l)")" "$(printf '%.2f' "$(echo "$g2 / ($g1 + 0.005)" | bc -l)")"
  fi
  echo
}

part_incremental() {
  local d="$work/n$incr_n"
  if [ ! -d "$d/s.silo" ]; then # counts did not run at this N: make its silo
    make_set "$incr_n" "$d"
    mapfile -t files < <(ls "$d"/in/*.tar | shuf --random-source=<(yes 42))
    "$silo" init "$d/s.silo" >/dev/null
    "$silo" add "$d/s.silo" "${files[@]}" >/dev/null
    "$silo" repack "$d/s.silo" "${full[@]}" "${extra[@]}" >/dev/null
    rm -rf "$d/in"
  fi
  mapfile -t next < <(ls "$d"/next/*.tar | head -n 5)
  "$silo" add "$d/s.silo" "${next[@]}" >/dev/null
  cp -a "$d/s.silo" "$d/full.silo"
  timed "$d/incr" "$silo" repack "$d/s.silo" --json "${extra[@]}"
  timed "$d/full" "$silo" repack "$d/full.silo" "${full[@]}" --json "${extra[@]}"
  local ib fb is fs
  ib=$(silo_bytes "$d/s.silo") fb=$(silo_bytes "$d/full.silo")
  is=$(cat "$d/incr.s") fs=$(cat "$d/full.s")
  echo "## Incremental repack: $incr_n blobs packed, ${#next[@]} new versions added"
  echo
  echo "| repack | seconds | peak RSS MB | silo bytes (packs + loose) | packs |"
  echo "|---|---:|---:|---:|---:|"
  printf '| silo repack (default: incremental) | %s | %d | %d | %d |\n' "$is" "$(mb "$(cat "$d/incr.rss")")" "$ib" "$(ls "$d"/s.silo/pack/*.pack | wc -l)"
  printf '| silo repack%s | %s | %d | %d | %d |\n' "${full:+ ${full[*]}}" "$fs" "$(mb "$(cat "$d/full.rss")")" "$fb" "$(ls "$d"/full.silo/pack/*.pack | wc -l)"
  echo
  printf 'Incremental/full: time ×%s, bytes ×%s.\n' "$(ratio "$is" "$fs")" "$(ratio "$ib" "$fb")"
  echo
  rm -rf "$d"
}

part_image() {
  local d="$work/image" need avail
  need=$((image_mib * 7))
  avail=$(df -B1M --output=avail "$work" | tail -n 1 | tr -d ' ')
  if ((avail < need)); then
    echo "scale.sh image needs about $need MiB free in $work, has $avail MiB" >&2
    exit 2
  fi
  mkdir -p "$d"
  "$bin/gen-image" 1 "$image_mib" "$image_layers" 10 "$d/in" >/dev/null
  local raw
  raw=$(bytes_of "$d"/in/image-*.tar)
  "$silo" init "$d/s.silo" >/dev/null
  timed "$d/add" "$silo" add "$d/s.silo" "$d/in/image-1.tar" "$d/in/image-2.tar"
  timed "$d/repack" "$silo" repack "$d/s.silo" "${full[@]}" "${memory[@]}" --json "${extra[@]}"
  local sb
  sb=$(silo_bytes "$d/s.silo")
  rm -rf "$d/s.silo"
  git init -q --bare "$d/g.git"
  timed "$d/hash" git --git-dir="$d/g.git" hash-object -w "$d/in/image-1.tar" "$d/in/image-2.tar"
  paste -d' ' "$d/hash.out" <(printf 'image-1.tar\nimage-2.tar\n') > "$d/list"
  timed "$d/pack" git --git-dir="$d/g.git" pack-objects "$d/g" < "$d/list"
  local gb
  gb=$(bytes_of "$d"/g-*.pack)
  secs() { cat "$d/$1.s"; }
  echo "## Image: two versions of a $image_mib MiB image tar, $image_layers layers, 10 % changed"
  echo
  echo "| step | seconds | peak RSS MB | bytes |"
  echo "|---|---:|---:|---:|"
  printf '| raw (2 tars) | - | - | %d |\n' "$raw"
  printf '| silo add | %s | %d | - |\n' "$(secs add)" "$(mb "$(cat "$d/add.rss")")"
  printf '| silo repack%s%s | %s | %d | %d |\n' "${full:+ ${full[*]}}" "${memory:+ ${memory[*]}}" "$(secs repack)" "$(mb "$(cat "$d/repack.rss")")" "$sb"
  printf '| git hash-object -w | %s | %d | - |\n' "$(secs hash)" "$(mb "$(cat "$d/hash.rss")")"
  printf '| git pack-objects (defaults) | %s | %d | %d |\n' "$(secs pack)" "$(mb "$(cat "$d/pack.rss")")" "$gb"
  echo
  printf 'silo/git: pack bytes ×%s, repack time ×%s, add + repack time ×%s.\n' "$(ratio "$sb" "$gb")" \
    "$(ratio "$(secs repack)" "$(secs pack)")" "$(ratio "$(echo "$(secs add) + $(secs repack)" | bc)" "$(echo "$(secs hash) + $(secs pack)" | bc)")"
  if ((image_mib > 512)); then
    echo
    echo "At its defaults git stores blobs larger than core.bigFileThreshold (512 MiB) whole: it makes no delta between the two images."
  fi
  echo
  rm -rf "$d"
}

run() {
  echo "# silo repack at scale"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(git --version), $("$silo" --version)."
  echo
  printf 'Reproduce: `SCALE_COUNTS="%s" SCALE_FAMILIES=%s SCALE_INCR_N=%s IMAGE_MIB=%s IMAGE_LAYERS=%s IMAGE_MEMORY=%s benches/scale.sh %s`\n' \
    "$counts" "$families" "$incr_n" "$image_mib" "$image_layers" "$image_memory" "${parts[*]}"
  echo
  if ((run_counts)); then part_counts; fi
  if ((run_incr)); then part_incremental; fi
  if ((run_image)); then part_image; fi
}

mkdir -p "$(dirname "$out_md")"
run | tee "$out_md.new"
mv "$out_md.new" "$out_md"
if ((run_counts)); then
  python3 "$root/benches/scale-chart.py" "$out_md" "${out_md%.md}.svg"
fi
