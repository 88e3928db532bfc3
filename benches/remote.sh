#!/usr/bin/env bash
# Remote reads: bytes transferred and wall time to get single objects out of
# a silo served by nginx on 127.0.0.1, with `silo cat URL` (Range requests
# for the object's pack entry and its delta bases), against fetching the
# whole pack with curl and reading it locally, and against `silo mirror`.
#
# The served silo holds the corpus tars of compare.sh (mypy, react-dom,
# syn: real releases) and $BIG_MB MB of incompressible blobs (1 MB each),
# repacked into one pack, so that the pack is about $BIG_MB MB: the case of
# "one object out of a 1 GB pack". The objects read are the corpus tars (in
# delta chains) in a seeded random order. Bytes come from `silo cat
# --stats` and are checked against nginx's access log ($body_bytes_sent).
# Prints Markdown rows.
#
# usage: benches/remote.sh [N]   (N objects, default 10; BIG_MB=1024)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=${1:-10}
big_mb=${BIG_MB:-1024}
corpus=${CORPUS:-$root/benches/.corpus}/tar
ls "$corpus"/*.tar >/dev/null 2>&1 || { echo "remote.sh needs the corpus: run benches/compare.sh once" >&2; exit 2; }
# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need remote.sh curl python3 bc
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "remote.sh needs nginx (scripts/install-deps.sh installs it)" >&2; exit 2; }

cargo build --release -q -p trees-cli
silo=$root/target/release/silo
work=$(mktemp -d)
cleanup() {
  [ -f "$work/nginx/nginx.pid" ] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The silo: the corpus, plus incompressible blobs.
mkdir -p "$work/www" "$work/big"
"$silo" init "$work/www/s.silo" >/dev/null
"$silo" add "$work/www/s.silo" "$corpus"/*.tar | cut -d' ' -f1 > "$work/ids"
python3 - "$work/big" "$big_mb" <<'EOF'
import os, random, sys
d, n = sys.argv[1], int(sys.argv[2])
r = random.Random(5)
for i in range(n):
    with open(os.path.join(d, f"r{i:05}.bin"), "wb") as f:
        f.write(r.randbytes(1 << 20))
EOF
find "$work/big" -name '*.bin' -print0 | xargs -0 -n 200 "$silo" add "$work/www/s.silo" >/dev/null
rm -rf "$work/big"
"$silo" repack --threads 2 "$work/www/s.silo" >/dev/null
pack=$(ls "$work"/www/s.silo/pack/*.pack)
idx=${pack%.pack}.idx
pack_bytes=$(stat -c %s "$pack")
idx_bytes=$(stat -c %s "$idx")

# nginx on a free port, logging body bytes per request.
start_nginx "$work/www" "$work/nginx"
port=$nginx_port
url=http://127.0.0.1:$port/s.silo/
logged() { awk '{s += $3} END {print s + 0}' "$work/nginx/access.log"; }

shuf -n "$n" --random-source=<(yes 3) "$work/ids" > "$work/pick"
now() { date +%s.%N; }

# One object at a time, each with an empty cache (listing + idx + entries),
# then the same objects with the idx cached.
cold_b=0; cold_r=0; cold_t=0; warm_b=0; warm_r=0; warm_t=0
while read -r id; do
  for phase in cold warm; do
    [ "$phase" = cold ] && rm -rf "$work/cache"
    : > "$work/nginx/access.log"
    t0=$(now)
    "$silo" cat "$url" "$id" --cache "$work/cache" --stats 2> "$work/stats" > "$work/obj"
    t=$(echo "$(now) - $t0" | bc)
    b=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["received_bytes"])' "$work/stats")
    r=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["requests"])' "$work/stats")
    [ "$(logged)" = "$b" ] || { echo "nginx sent $(logged) bytes, silo counted $b" >&2; exit 1; }
    "$silo" cat "$work/www/s.silo" "$id" | cmp -s - "$work/obj" || { echo "remote cat $id differs" >&2; exit 1; }
    if [ "$phase" = cold ]; then
      cold_b=$((cold_b + b)); cold_r=$((cold_r + r)); cold_t=$(echo "$cold_t + $t" | bc)
    else
      warm_b=$((warm_b + b)); warm_r=$((warm_r + r)); warm_t=$(echo "$warm_t + $t" | bc)
    fi
  done
done < "$work/pick"

# All N in one process (--batch), idx cached: bases shared between objects stay cached.
: > "$work/nginx/access.log"
t0=$(now)
"$silo" cat "$url" --batch --cache "$work/cache" --stats < "$work/pick" 2> "$work/stats" > /dev/null
batch_t=$(echo "$(now) - $t0" | bc)
batch_b=$(logged)
batch_r=$(wc -l < "$work/nginx/access.log")

# The whole pack and idx with curl, then the objects read locally.
mkdir -p "$work/local"
t0=$(now)
curl -sf -o "$work/local/p.pack" "${url}pack/$(basename "$pack")"
curl -sf -o "$work/local/p.idx" "${url}pack/$(basename "$idx")"
whole_fetch_t=$(echo "$(now) - $t0" | bc)
whole_b=$(( $(stat -c %s "$work/local/p.pack") + $(stat -c %s "$work/local/p.idx") ))

# silo mirror of the whole silo.
: > "$work/nginx/access.log"
t0=$(now)
"$silo" mirror "$url" "$work/mirror.silo" >/dev/null
mirror_t=$(echo "$(now) - $t0" | bc)
mirror_b=$(logged)
mirror_r=$(wc -l < "$work/nginx/access.log")

echo "| remote read, pack of $(( pack_bytes / 1000000 )) MB ($n corpus objects, nginx on 127.0.0.1) | requests | bytes received | x whole pack | seconds | x whole-pack time |"
echo "|---|---:|---:|---:|---:|---:|"
row() { # what requests bytes seconds
  printf '| %s | %s | %d | %.5f | %.3f | %.3f |\n' "$1" "$2" "$3" \
    "$(echo "$3 / $whole_b" | bc -l)" "$4" "$(echo "$4 / $whole_fetch_t" | bc -l)"
}
row "silo cat URL, one object, empty cache (mean)" "$((cold_r / n))" "$((cold_b / n))" "$(echo "$cold_t / $n" | bc -l)"
row "silo cat URL, one object, idx cached (mean)" "$((warm_r / n))" "$((warm_b / n))" "$(echo "$warm_t / $n" | bc -l)"
row "silo cat URL --batch, all $n, idx cached" "$batch_r" "$batch_b" "$batch_t"
row "curl of the whole pack and idx" 2 "$whole_b" "$whole_fetch_t"
row "silo mirror (whole silo, every object checked)" "$mirror_r" "$mirror_b" "$mirror_t"
echo
echo "idx: $idx_bytes bytes; pack: $pack_bytes bytes."
