#!/usr/bin/env bash
# A silo in a bucket beside the same silo in a directory: add, full
# repack, incremental repack (warm replica, and cold: a new machine with
# an empty cache) and `cat --batch` of every release of a family, with
# wall times and the bytes moved to and from the bucket (from `--json`).
#
# The bucket is moto's S3 server on 127.0.0.1 (scripts/install-deps.sh
# installs it), so the times measure our protocol plus a Python server on
# the same 2 cores, not a network: read them as request and byte counts
# more than as seconds. The releases are real downloads, fetched with the
# ordinary clients (pip, npm) into $CORPUS/s3 (default benches/.corpus),
# and stored as downloaded (.tar.gz, .tgz).
#
# usage: benches/s3.sh [FAMILY...]   FAMILY is pypi:NAME:V1,V2,... or npm:NAME:V1,...
#        (default: two families, one per registry). Prints Markdown rows.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# shellcheck source=benches/lib.sh
source benches/lib.sh
need s3.sh pip npm python3 curl moto_server
silo_bin
families=("$@")
if [ ${#families[@]} -eq 0 ]; then
  families=(
    "pypi:rich:13.3.0,13.4.0,13.5.0,13.6.0,13.7.0,13.7.1,13.8.0,13.9.0"
    "npm:axios:1.6.0,1.6.2,1.6.5,1.6.8,1.7.0,1.7.2,1.7.4,1.7.7"
  )
fi
corpus=${CORPUS:-$root/benches/.corpus}/s3
mkdir -p "$corpus"
work=$(mktemp -d)
moto_pid=""
cleanup() {
  [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
  grep -q "Running on" "$work/moto.log" && break
  sleep 0.1
done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ALLOW_HTTP=true \
  AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.2f'; }
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(v.get("transfer") and v["transfer"][sys.argv[2]] or 0)' "$1" "$2"; }

echo "| family | store | add s | full repack s | incremental s | incremental, cold replica s | cat --batch s | silo bytes | full: up / down | incremental: up / down | cold incremental: down |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
b=0
for fam in "${families[@]}"; do
  IFS=: read -r reg name versions <<<"$fam"
  files=()
  for v in ${versions//,/ }; do
    case $reg in
      pypi)
        f=$(ls "$corpus/$name-$v".tar.gz 2>/dev/null || true)
        [ -n "$f" ] || (cd "$corpus" && pip download -q --no-deps --no-binary :all: "$name==$v" >&2)
        f=$corpus/$name-$v.tar.gz ;;
      npm)
        f=$corpus/$name-$v.tgz
        [ -f "$f" ] || (cd "$corpus" && npm pack -q "$name@$v" >/dev/null) ;;
      *) echo "unknown registry $reg" >&2; exit 2 ;;
    esac
    files+=("$f")
  done
  last=${files[-1]}
  before_last=("${files[@]:0:${#files[@]}-1}")
  for store in dir s3; do
    b=$((b + 1))
    export TREES_CACHE=$work/cache-$b
    if [ $store = dir ]; then
      s=$work/d$b.silo
    else
      curl -fsS -X PUT "$AWS_ENDPOINT_URL/bench$b" >/dev/null
      s=s3://bench$b/$name.silo
    fi
    "$silo" init "$s" >/dev/null
    t0=$(now); "$silo" add "$s" "${before_last[@]}" > "$work/ids"; t_add=$(secs "$t0" "$(now)")
    t0=$(now); "$silo" repack --full --json "$s" > "$work/full.json"; t_full=$(secs "$t0" "$(now)")
    "$silo" add "$s" "$last" >> "$work/ids"
    t0=$(now); "$silo" repack --json "$s" > "$work/inc.json"; t_inc=$(secs "$t0" "$(now)")
    # A new machine: the replica cache is empty.
    printf 'one more object, %s\n' "$b" > "$work/extra"
    "$silo" add "$s" "$work/extra" >/dev/null
    rm -rf "$TREES_CACHE"
    t0=$(now); "$silo" repack --json "$s" > "$work/cold.json"; t_cold=$(secs "$t0" "$(now)")
    t0=$(now); cut -d' ' -f1 "$work/ids" | "$silo" cat "$s" --batch | cmp -s - <(for f in "${files[@]}"; do
      printf '%s blob %s\n' "$(git hash-object "$f")" "$(stat -c %s "$f")"; cat "$f"; echo; done) \
      || { echo "cat --batch of $s differs" >&2; exit 1; }
    t_cat=$(secs "$t0" "$(now)")
    bytes=$("$silo" du --json "$s" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pack"]["apparent_bytes"])')
    echo "| $name ($reg, ${#files[@]} releases) | $store | $t_add | $t_full | $t_inc | $t_cold | $t_cat | $bytes | $(field "$work/full.json" uploaded_bytes) / $(field "$work/full.json" downloaded_bytes) | $(field "$work/inc.json" uploaded_bytes) / $(field "$work/inc.json" downloaded_bytes) | $(field "$work/cold.json" downloaded_bytes) |"
  done
done
