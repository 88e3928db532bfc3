#!/usr/bin/env bash
# The nightly repack touches only what changed: `silo repack DIR` (the
# nightly job, incremental) writes a new pack only for each family of
# releases it adds to, and leaves every other pack byte for byte as it was,
# so that mirrors, backups and buckets move only the new.
#
# The corpus: families of real consecutive releases as downloaded (.crate,
# .tgz, sdist .tar.gz; stored split by the engine), fetched with the ordinary
# package clients into the cache that benches/gzip.sh uses (benches/fetch.sh).
# Families of $long_min or more releases are "long" (a family pack many times
# one release).
#
#   1. A seeded schedule of $NIGHTLY_BENCH_NIGHTS nights (default 10), each
#      adding the next held-back release of 1 or 2 families: every long
#      family twice (its last two releases), the two largest other families
#      once, and other families drawn at random to fill the nights. Families
#      the schedule does not draw hold nothing back: they are untouched on
#      every night. Everything else goes into silo A: `silo add`, then
#      `silo repack --full --json`.
#   2. The nights on A, default policy (--write-factor 3): `silo add` the
#      night's releases (their loose bytes in objects/), `silo repack --json`.
#      pack/ is listed before and after (name, size, inode, mtime, md5): the
#      files that are new or changed are what the night wrote (.fp and the
#      multi-pack-index apart), beside repack's own `bytes_written`. Every
#      pack is attributed to the families whose objects it holds (`git
#      show-index` of its idx: the downloads' and their contents' blob ids;
#      and the download ids its .split table names). Checks, each night: no
#      pack removed or written holds an object of a family not added that
#      night; every pack of another family is still there, unchanged; at most
#      one pack removed per family added; no file rewritten in place.
#   3. The same nights from a copy of the same starting silo with
#      --write-factor inf.
#   4. Before the last night, silo M = `silo mirror` of A served by nginx on
#      127.0.0.1; after it, `silo mirror` again: the bytes nginx sent, by file,
#      against what the night wrote.
#   5. B: a fresh silo of exactly the blobs A ends with, `silo repack --full`:
#      A's pack/ against B's, for both policies.
#   6. Lookups among many packs: silo P of $NIGHTLY_BENCH_PAIRS (default
#      2000) synthetic families (a seeded random 16 KB text and a small edit
#      of it), full repack (a pack per family); silo Q of the same blobs in one
#      pack made by `git pack-objects --window=250 --depth=50`. `silo cat
#      --batch` of every id in a seeded order, best of 3: P, Q, and P without
#      its multi-pack-index; and 100 single `silo cat P ID` processes.
#
#   7. The same nights on a bucket (moto's S3 server on 127.0.0.1; skipped,
#      and said so, without moto_server): A's starting downloads added to
#      s3://nightly/a and repacked in full, then each night `silo add` (on a
#      cache of its own, the uploading machine) and `silo repack --json` on a
#      new, empty $TREES_CACHE (a fresh CI runner): the bytes it downloads,
#      by kind of file (its `transfer.downloaded_by_kind`), against the idx
#      and sketch files, the new loose objects and the packs it copies
#      (the .pack files it removed), and against the whole silo.
#
# Targets, printed beside what was measured:
#   each nightly (default policy) writes <= 3 x the loose bytes it added, plus .fp
#   after the nights, A's pack/ <= 1.05 x B's (each policy)
#   the mirror after the last night downloads <= what that night wrote
#     (plus info/files.json and the multi-pack-index)
#   cat --batch among the packs of P (with its multi-pack-index) <= 1.2 x Q
#   a nightly on a bucket from an empty cache downloads <= 3 x (idx + .fp +
#     new loose objects + packs copied), and <= 5% of the silo
#
# usage: benches/nightly.sh [fetch|run|all]   (default all: fetch what is missing, then measure)
#   fetch                        only fill the cache (needs cargo, pip, npm)
#   run                          only measure (the cache must hold the corpus)
#   NIGHTLY_BENCH_CACHE=DIR      the download cache (default $GZIP_BENCH_CACHE, else ~/.cache/trees-gzip-bench)
#   NIGHTLY_BENCH_OUT=FILE       the report (default benches/results/nightly.md)
#   NIGHTLY_BENCH_PYPI="NAME V1 V2 ...[; NAME ...]", NIGHTLY_BENCH_CRATES=..., NIGHTLY_BENCH_NPM=...
#                                the families ("" skips an ecosystem)
#   NIGHTLY_BENCH_SEED=N         the schedule's seed (default 20261207)
#   NIGHTLY_BENCH_NIGHTS=N       nights (default 10)
#   NIGHTLY_BENCH_PAIRS=N        synthetic families of P (default 2000)
#   SILO_BIN=path/to/silo        use this silo instead of building one
#   SILO_REPACK_FLAGS="..."      extra flags for every `silo repack` (e.g. --threads 2)
#   NIGHTLY_BENCH_KEEP=1         keep the work directory (its path is printed)
#   NIGHTLY_BENCH_STEPS=bucket   only step 7, its report to benches/results/nightly-bucket.md
# needs: git, python3, jq, gzip, awk, nginx, /usr/bin/time
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=${NIGHTLY_BENCH_CACHE:-${GZIP_BENCH_CACHE:-$HOME/.cache/trees-gzip-bench}}
out_md=${NIGHTLY_BENCH_OUT:-$root/benches/results/nightly.md}
seed=${NIGHTLY_BENCH_SEED:-20261207}
n_nights=${NIGHTLY_BENCH_NIGHTS:-10}
n_pairs=${NIGHTLY_BENCH_PAIRS:-2000}
long_min=12
pypi_families=${NIGHTLY_BENCH_PYPI-mypy 1.16.0 1.16.1 1.17.0 1.17.1 1.18.1 1.18.2}
npm_families=${NIGHTLY_BENCH_NPM-typescript 5.4.5 5.5.2 5.5.3 5.5.4 5.6.2 5.6.3}
crate_families=${NIGHTLY_BENCH_CRATES-tokio 1.48.0 1.49.0 1.50.0 1.51.0 1.52.0;
  syn 2.0.110 2.0.111 2.0.112 2.0.113 2.0.114;
  serde 1.0.225 1.0.226 1.0.227 1.0.228 1.0.229;
  libc 0.2.174 0.2.175 0.2.176 0.2.177 0.2.178 0.2.179 0.2.180 0.2.181 0.2.182 0.2.183 0.2.184 0.2.185 0.2.186 0.2.187;
  serde_json 1.0.120 1.0.121 1.0.122 1.0.123 1.0.124 1.0.125 1.0.126 1.0.127 1.0.128 1.0.129 1.0.130 1.0.131 1.0.132 1.0.133;
  proc-macro2 1.0.86 1.0.87 1.0.88 1.0.89 1.0.90 1.0.91 1.0.92 1.0.93 1.0.94 1.0.95 1.0.96 1.0.97;
  anyhow 1.0.90 1.0.91 1.0.92 1.0.93 1.0.94 1.0.95 1.0.96;
  thiserror 1.0.60 1.0.61 1.0.62 1.0.63 1.0.64 1.0.65;
  itoa 1.0.9 1.0.10 1.0.11 1.0.12 1.0.13 1.0.14;
  memchr 2.7.0 2.7.1 2.7.2 2.7.3 2.7.4 2.7.5 2.7.6;
  log 0.4.26 0.4.27 0.4.28 0.4.29 0.4.30 0.4.31;
  quote 1.0.35 1.0.36 1.0.37 1.0.38 1.0.39 1.0.40;
  bytes 1.7.0 1.7.1 1.7.2 1.8.0 1.9.0 1.10.0;
  smallvec 1.11.0 1.11.1 1.11.2 1.12.0 1.13.1 1.13.2;
  indexmap 2.2.1 2.2.2 2.2.3 2.2.4 2.2.5 2.2.6 2.3.0 2.4.0;
  ryu 1.0.15 1.0.16 1.0.17 1.0.18 1.0.19 1.0.20;
  unicode-ident 1.0.12 1.0.13 1.0.14 1.0.15 1.0.16 1.0.17 1.0.18;
  either 1.10.0 1.11.0 1.12.0 1.13.0 1.14.0 1.15.0;
  bitflags 2.4.0 2.4.1 2.4.2 2.5.0 2.6.0 2.7.0;
  base64 0.21.0 0.21.1 0.21.2 0.21.3 0.21.4 0.21.5 0.21.6 0.21.7;
  regex-syntax 0.8.2 0.8.3 0.8.4 0.8.5 0.8.6 0.8.7 0.8.8}
crate_families=${crate_families//$'\n'/ }
read -r -a extra <<< "${SILO_REPACK_FLAGS:-}"

mode=${1:-all}
case $mode in
  fetch | run | all) ;;
  *) echo "usage: benches/nightly.sh [fetch|run|all]" >&2; exit 2 ;;
esac

fetch_name=nightly.sh
# shellcheck source=benches/fetch.sh
. "$root/benches/fetch.sh"
families pypi "$pypi_families"
families crates "$crate_families"
families npm "$npm_families"
[ ${#all_families[@]} -gt 0 ] || { echo "nightly.sh: no families chosen" >&2; exit 2; }

if [ "$mode" != run ]; then fetch_all; fi
[ "$mode" = fetch ] && exit 0

# ---------------------------------------------------------------- setup

# shellcheck source=benches/lib.sh
. "$root/benches/lib.sh"
need nightly.sh git python3 jq gzip awk /usr/bin/time
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nightly.sh needs nginx (scripts/install-deps.sh installs it)" >&2; exit 2; }
started=$(date +%s)
silo_bin
# What was measured: the checkout as the binary was built from it.
desc=$(git describe --always --tags 2>/dev/null || git rev-parse --short HEAD)
dirty=$(git status --porcelain --untracked-files=no -- . ':!benches' | awk '{print $2}' | tr '\n' ' ')
built=$(date -u -r "$silo" '+%Y-%m-%d %H:%M:%S UTC')

work=$(mktemp -d)
moto_pid=""
cleanup() {
  if [ -f "$work/nginx/nginx.pid" ]; then kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true; fi
  [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
  if [ -n "${NIGHTLY_BENCH_KEEP:-}" ]; then echo "nightly.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
say() { echo "nightly.sh: $*" >&2; }

# The helpers written in Python: ids, the schedule, listings, attribution,
# the nightly checks, the synthetic blobs.
cat > "$work/nb.py" <<'EOF'
import gzip, hashlib, json, os, random, stat, subprocess, sys


def blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def idmap(listfile, out):
    """family<TAB>path lines -> id<TAB>family<TAB>download|content<TAB>bytes"""
    with open(out, "w") as o:
        for line in open(listfile):
            fam, path = line.rstrip("\n").split("\t")
            data = open(path, "rb").read()
            o.write(f"{blob_id(data)}\t{fam}\tdownload\t{len(data)}\n")
            try:
                c = gzip.decompress(data)
            except Exception:
                continue
            o.write(f"{blob_id(c)}\t{fam}\tcontent\t{len(c)}\n")


def schedule(seed, nights, famfile, long_min):
    """famfile: key<TAB>bytes<TAB>v1 v2 ... -> night<TAB>key<TAB>version lines"""
    fams = []
    for line in open(famfile):
        key, size, vs = line.rstrip("\n").split("\t")
        fams.append((key, int(size), vs.split()))
    r = random.Random(int(seed))
    nights = int(nights)
    long = [f for f in fams if len(f[2]) >= int(long_min)]
    others = [f for f in fams if len(f[2]) < int(long_min)]
    heavy = sorted(others, key=lambda f: -f[1])[:2]
    rest = [f for f in others if f not in heavy]
    r.shuffle(rest)
    sizes = [r.choice((1, 2)) for _ in range(nights)]
    need = 2 * len(long) + len(heavy)
    i = 0
    while sum(sizes) < need and i < nights:
        sizes[i] = 2
        i += 1
    if sum(sizes) < need:
        sys.exit(f"nightly.sh: {nights} nights of at most 2 families cannot take {need} releases")
    while sum(sizes) > need + len(rest):
        sizes[sizes.index(2)] = 1
    items = [(f[0], 2) for f in long] + [(f[0], 1) for f in long] + [(f[0], 1) for f in heavy]
    items += [(f[0], 1) for f in rest[: sum(sizes) - need]]
    for _ in range(100000):
        r.shuffle(items)
        plan, pos = [], 0
        for s in sizes:
            plan.append(items[pos : pos + s])
            pos += s
        if all(len({k for k, _ in n}) == len(n) for n in plan):
            break
    else:
        sys.exit("nightly.sh: found no schedule")
    # a long family's second-to-last release comes before its last
    where = {}
    for ni, n in enumerate(plan):
        for si, it in enumerate(n):
            where[it] = (ni, si)
    for f in long:
        a, b = where[(f[0], 2)], where[(f[0], 1)]
        if a[0] > b[0]:
            plan[a[0]][a[1]], plan[b[0]][b[1]] = plan[b[0]][b[1]], plan[a[0]][a[1]]
    versions = {f[0]: f[2] for f in fams}
    for ni, n in enumerate(plan):
        for k, back in n:
            print(f"{ni + 1}\t{k}\t{versions[k][-back]}")


def listing(silo, out):
    rows = []
    d = os.path.join(silo, "pack")
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            continue
        with open(p, "rb") as f:
            h = hashlib.md5(f.read()).hexdigest()
        rows.append([n, st.st_size, st.st_ino, st.st_mtime_ns, h])
    json.dump(rows, open(out, "w"))


def load_ids(path):
    ids, downloads = {}, {}
    for line in open(path):
        i, fam, kind, _ = line.rstrip("\n").split("\t")
        ids[i] = fam
        if kind == "download":
            downloads[bytes.fromhex(i)] = fam
    return ids, downloads


def attribute(silo, idfile, cachefile):
    """Families of every pack of silo/pack not yet in cachefile (pack name -> families)."""
    ids, downloads = load_ids(idfile)
    try:
        cache = json.load(open(cachefile))
    except FileNotFoundError:
        cache = {}
    d = os.path.join(silo, "pack")
    for n in sorted(os.listdir(d)):
        if not n.endswith(".idx"):
            continue
        stem = n[: -len(".idx")]
        if stem in cache:
            continue
        with open(os.path.join(d, n), "rb") as f:
            out = subprocess.run(
                ["git", "show-index", "--object-format=sha1"], stdin=f, capture_output=True, check=True
            ).stdout.decode()
        fams, objects, unknown = set(), 0, 0
        entries = []
        for line in out.splitlines():
            objects += 1
            off, oid = line.split()[:2]
            entries.append((int(off), oid))
            if oid in ids:
                fams.add(ids[oid])
            else:
                unknown += 1
        # bytes of each family's entries in the pack ("?": objects of no known
        # download or content, i.e. the split records' recipes)
        entries.sort()
        end_all = os.path.getsize(os.path.join(d, stem + ".pack")) - 20
        by = {}
        for i, (off, oid) in enumerate(entries):
            end = entries[i + 1][0] if i + 1 < len(entries) else end_all
            f = ids.get(oid, "?")
            by[f] = by.get(f, 0) + end - off
        split = os.path.join(d, stem + ".split")
        if os.path.exists(split):
            data = open(split, "rb").read()
            for raw, fam in downloads.items():
                if raw in data:
                    fams.add(fam)
        cache[stem] = {"families": sorted(fams), "objects": objects, "unattributed": unknown, "bytes": by}
    json.dump(cache, open(cachefile, "w"), indent=0)


def stem_of(name):
    for ext in (".pack", ".idx", ".fp", ".split", ".rev", ".bitmap"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return None


def night(before, after, cachefile, added, out):
    """What a night wrote and removed in pack/, and the checks."""
    B = {r[0]: r for r in json.load(open(before))}
    A = {r[0]: r for r in json.load(open(after))}
    fam = json.load(open(cachefile))
    added = set(a for a in added.split(",") if a)
    new = [n for n in A if n not in B or A[n][1:] != B[n][1:]]
    removed = [n for n in B if n not in A]
    res = {"written": 0, "fp": 0, "midx": 0, "packish": 0, "other": 0, "other_files": [], "violations": [],
           "collateral": [], "collateral_bytes": 0}
    for n in new:
        size = A[n][1]
        res["written"] += size
        if n == "multi-pack-index":
            res["midx"] += size
        elif n.endswith(".fp"):
            res["fp"] += size
        elif n.endswith((".pack", ".idx", ".split")):
            res["packish"] += size
        else:
            res["other"] += size
            res["other_files"].append(n)
        if n in B and n != "multi-pack-index":
            res["violations"].append(f"{n} rewritten in place")
    pw = sorted(n[:-5] for n in new if n.endswith(".pack"))
    pr = sorted(n[:-5] for n in removed if n.endswith(".pack"))
    res["packs_written"], res["packs_removed"] = len(pw), len(pr)
    res["removed_pack_bytes"] = sum(B[p + ".pack"][1] for p in pr)
    res["written_families"] = sorted({f for p in pw for f in fam.get(p, {}).get("families", [])})
    res["removed_families"] = sorted({f for p in pr for f in fam.get(p, {}).get("families", [])})
    # Hard: a removed or written pack holds nothing of the families added.
    # Collateral: it holds them and other families' objects too (the engine's
    # family, linked by deltas, spans several projects).
    for p in pr:
        fs = set(fam.get(p, {}).get("families", []))
        if not fs & added:
            res["violations"].append(f"removed {p}, of {','.join(sorted(fs)) or 'no known family'}")
        elif not fs <= added:
            res["collateral"].append(f"removed {p[:17]}, which also held {','.join(sorted(fs - added))}")
    for p in pw:
        fs = set(fam.get(p, {}).get("families", []))
        if not fs & added:
            res["violations"].append(f"wrote {p}, of {','.join(sorted(fs)) or 'no known family'}")
        elif not fs <= added:
            by = fam[p].get("bytes", {})
            other = {f: b for f, b in by.items() if f not in added and f != "?"}
            res["collateral_bytes"] += sum(other.values())
            res["collateral"].append(
                f"wrote {p[:17]}, which also holds " + ", ".join(f"{f} ({b} bytes)" for f, b in sorted(other.items()))
            )
    untouched = 0
    for n in B:
        s = stem_of(n)
        if s is None:
            continue
        fs = set(fam.get(s, {}).get("families", []))
        if fs & added:
            continue
        if n not in A:
            res["violations"].append(f"{n} (of {','.join(sorted(fs)) or 'no known family'}) removed")
        elif A[n][1:] != B[n][1:]:
            res["violations"].append(f"{n} (of {','.join(sorted(fs))}) changed")
        elif n.endswith(".pack"):
            untouched += 1
    res["untouched_packs"] = untouched
    if len(pr) > len(added):
        res["violations"].append(f"{len(pr)} packs removed for {len(added)} families added")
    json.dump(res, open(out, "w"))


def pairs(d, n, size, seed):
    r = random.Random(int(seed))
    n, size = int(n), int(size)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(r.choice(letters) for _ in range(r.randint(2, 10))) for _ in range(5000)]
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        lines, total = [], 0
        while total < size:
            line = " ".join(r.choice(vocab) for _ in range(r.randint(4, 14)))
            lines.append(line)
            total += len(line) + 1
        b = list(lines)
        j = r.randrange(len(b) * 3 // 4, len(b))
        b[j] = " ".join(r.choice(vocab) for _ in range(r.randint(4, 14)))
        b.append(f"edited {i}")
        with open(os.path.join(d, f"a{i:05}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(d, f"b{i:05}.txt"), "w") as f:
            f.write("\n".join(b) + "\n")


def shuffled(path, seed):
    lines = open(path).read().split()
    random.Random(int(seed)).shuffle(lines)
    print("\n".join(lines))


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
EOF
nb() { python3 "$work/nb.py" "$@"; }

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
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a + 0 <= b + 0)}'; }
verdict() { if le "$1" "$2"; then echo PASS; else echo FAIL; fi; }
dir_bytes() { find "$@" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}'; }
count() { find "$1" -maxdepth 1 -name "$2" | wc -l; }

# Engine anomalies (missing JSON fields, figures that disagree): listed in the report.
: > "$work/anomalies"
anomaly() { say "ANOMALY: $*"; echo "- $*" >> "$work/anomalies"; }
fields=(mode objects new_objects reused_objects packs_kept packs_written packs_removed bytes_written after_bytes seconds peak_rss_bytes)
# jf JSON FIELD: the field's value, "missing" when absent.
jf() { jq -r --arg k "$2" 'if has($k) and .[$k] != null then .[$k] else "missing" end' "$1"; }
check_json() { # json what expected-mode
  local f
  jq -e . "$1" >/dev/null 2>&1 || { anomaly "$2: repack --json printed no JSON object"; return; }
  for f in "${fields[@]}"; do
    [ "$(jf "$1" "$f")" != missing ] || anomaly "$2: repack --json has no \`$f\`"
  done
  [ "$(jf "$1" mode)" = "$3" ] || anomaly "$2: repack --json mode is \`$(jf "$1" mode)\`, expected \`$3\`"
}

# ---------------------------------------------------------------- corpus and schedule

declare -A fam_eco fam_versions fam_bytes fam_content
fam_keys=()
: > "$work/files.tsv"
: > "$work/fams.tsv"
for line in "${all_families[@]}"; do
  read -r eco name versions <<< "$line"
  key=$name
  fam_keys+=("$key")
  fam_eco[$key]=$eco
  fam_versions[$key]=$versions
  b=0
  for v in $versions; do
    f=$(cached "$eco" "$name" "$v")
    [ -s "$f" ] || { echo "nightly.sh: $f is not in the cache: run benches/nightly.sh fetch" >&2; exit 2; }
    printf '%s\t%s\n' "$key" "$f" >> "$work/files.tsv"
    b=$((b + $(stat -c %s "$f")))
  done
  fam_bytes[$key]=$b
  printf '%s\t%s\t%s\n' "$key" "$b" "$versions" >> "$work/fams.tsv"
done
say "hashing the ${#fam_keys[@]} families' downloads and contents"
nb idmap "$work/files.tsv" "$work/ids.tsv"
while IFS=$'\t' read -r _ key kind size; do
  [ "$kind" = content ] && fam_content[$key]=$(( ${fam_content[$key]:-0} + size ))
done < "$work/ids.tsv"

nb schedule "$seed" "$n_nights" "$work/fams.tsv" "$long_min" > "$work/schedule.tsv"
declare -A held
while IFS=$'\t' read -r n key v; do
  held[$key/$v]=$n
done < "$work/schedule.tsv"
say "schedule (seed $seed):"
awk -F'\t' '{a[$1] = a[$1] " " $2 "@" $3} END {for (n = 1; n in a; n++) printf "  night %d:%s\n", n, a[n]}' "$work/schedule.tsv" >&2

# The downloads A starts with, and all of them (B's).
start_files=()
all_files=()
for key in "${fam_keys[@]}"; do
  for v in ${fam_versions[$key]}; do
    f=$(cached "${fam_eco[$key]}" "$key" "$v")
    all_files+=("$f")
    [ -n "${held[$key/$v]:-}" ] || start_files+=("$f")
  done
done
night_files() { # night -> "key<TAB>file" lines
  local n key v
  while IFS=$'\t' read -r n key v; do
    [ "$n" = "$1" ] && printf '%s\t%s\n' "$key" "$(cached "${fam_eco[$key]}" "$key" "$v")"
  done < "$work/schedule.tsv"
}
say "corpus: ${#fam_keys[@]} families, ${#all_files[@]} releases, ${#start_files[@]} in A at the start"

# ---------------------------------------------------------------- step 7: the nights on a bucket

# bucket_nights: rows to $work/rows-bucket ("" when moto_server is missing).
bucket_nights() {
  : > "$work/rows-bucket"
  if ! command -v moto_server > /dev/null; then
    say "no moto_server: the bucket nights are skipped"
    echo "skipped: moto_server is not installed (scripts/install-deps.sh installs it)" > "$work/bucket-skipped"
    return
  fi
  local port n key f files added loose
  port=$(free_port)
  moto_server -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 100); do grep -q "Running on" "$work/moto.log" && break; sleep 0.1; done
  local -a aws=(env AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ALLOW_HTTP=true
    AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1)
  curl -fsS -X PUT "http://127.0.0.1:$port/nightly" > /dev/null
  local url=s3://nightly/a
  # The machine that uploads the releases keeps its cache.
  uploader() { "${aws[@]}" TREES_CACHE="$work/bucket-uploader" "$silo" "$@"; }
  uploader init "$url" > /dev/null
  uploader add "$url" "${start_files[@]}" > /dev/null
  say "bucket: full repack of ${#start_files[@]} downloads"
  uploader repack "$url" --full --json "${extra[@]}" > "$work/bucket-full.json"
  for n in $(seq 1 "$n_nights"); do
    files=()
    added=""
    while IFS=$'\t' read -r key f; do
      files+=("$f")
      added+="${added:+,}$key"
    done < <(night_files "$n")
    [ ${#files[@]} -gt 0 ] || continue
    # The silo before the night, as the uploading machine's replica has it.
    uploader add "$url" "${files[@]}" > "$work/bucket-add.out"
    local rep=$work/bucket-uploader/s3/nightly/a
    local idx fp split pack loose_b
    idx=$(find "$rep/pack" -name '*.idx' -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    fp=$(find "$rep/pack" -name '*.fp' -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    split=$(find "$rep/pack" -name '*.split' -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    pack=$(find "$rep/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    loose_b=$(find "$rep/objects" -type f -printf '%s\n' | awk '{s += $1} END {printf "%.0f", s}')
    find "$rep/pack" -name '*.pack' -printf '%f %s\n' | sort > "$work/bucket-packs-before"
    local fresh=$work/bucket-cache-$n
    timed "$work/bucket-night" "${aws[@]}" TREES_CACHE="$fresh" "$silo" repack "$url" --json "${extra[@]}"
    cp "$work/bucket-night.out" "$work/bucket-night-$n.json"
    rm -rf "$fresh"
    # The packs it copied: those it removed (the uploader's replica syncs).
    uploader du "$url" > /dev/null
    find "$rep/pack" -name '*.pack' -printf '%f %s\n' | sort > "$work/bucket-packs-after"
    local copied
    copied=$(comm -23 "$work/bucket-packs-before" "$work/bucket-packs-after" | awk '{s += $2} END {printf "%.0f", s}')
    local j=$work/bucket-night.out down up silo_b base
    down=$(jq '.transfer.downloaded_bytes' "$j")
    up=$(jq '.transfer.uploaded_bytes' "$j")
    silo_b=$((idx + fp + split + pack + loose_b))
    base=$((idx + fp + loose_b + copied))
    printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$n" "$added" "$down" \
      "$(jq '.transfer.downloaded_by_kind.idx // 0' "$j")" "$(jq '.transfer.downloaded_by_kind.fp // 0' "$j")" \
      "$(jq '.transfer.downloaded_by_kind["loose object"] // 0' "$j")" "$(jq '.transfer.downloaded_by_kind.pack // 0' "$j")" \
      "$(jq '[.transfer.downloaded_by_kind | to_entries[] | select(.key != "idx" and .key != "fp" and .key != "loose object" and .key != "pack") | "\(.key) \(.value)"] | join(", ")' -r "$j")" \
      "$base" "$copied" "$(ratio "$down" "$base")" "$silo_b" "$(ratio "$down" "$silo_b")" "$up" "$(secs "$work/bucket-night")" >> "$work/rows-bucket"
    say "bucket night $n ($added): downloaded $down of a $silo_b-byte silo (idx+fp+loose+copied packs: $base), uploaded $up"
  done
  uploader verify "$url" > /dev/null || { echo "nightly.sh: FAIL: silo verify of the bucket after the nights" >&2; exit 1; }
  kill "$moto_pid" 2>/dev/null || true
  moto_pid=""
}

bucket_table() {
  if [ -s "$work/bucket-skipped" ]; then cat "$work/bucket-skipped"; return; fi
  echo "| night | added | downloaded | .idx | .fp | new loose | .pack (copied) | the rest | idx+fp+loose+copied | of which copied packs | down / that | silo bytes | down / silo | uploaded | s |"
  echo "|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'|' '{printf "| %s |", $1; for (i = 2; i <= NF; i++) printf " %s |", $i; printf "\n"}' "$work/rows-bucket"
  echo
  local worst3 worst5
  worst3=$(awk -F'|' 'BEGIN {m = 0} $11 + 0 > m {m = $11 + 0} END {printf "%.3f", m}' "$work/rows-bucket")
  worst5=$(awk -F'|' 'BEGIN {m = 0} $13 + 0 > m {m = $13 + 0} END {printf "%.4f", m}' "$work/rows-bucket")
  echo "- $(verdict "$worst3" 3): each nightly on an empty cache downloads at most 3 x (idx + .fp + new loose objects + packs copied): worst $worst3 x."
  echo "- $(verdict "$worst5" 0.05): and at most 5% of the silo: worst $worst5."
}

if [ "${NIGHTLY_BENCH_STEPS:-all}" = bucket ]; then
  bucket_nights
  bucket_md=$(dirname "$out_md")/nightly-bucket.md
  {
    echo "# The nightly repack on a bucket from an empty cache"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; checkout \`$desc\`; $("$silo" --version). Reproduce: \`NIGHTLY_BENCH_STEPS=bucket benches/nightly.sh run\` (seed $seed, $n_nights nights, the families and schedule of benches/nightly.sh)."
    echo
    bucket_table
  } > "$bucket_md"
  cat "$bucket_md"
  exit 0
fi

# ---------------------------------------------------------------- step 1: silo A

a0=$work/a0.silo
"$silo" init "$a0" >/dev/null
timed "$work/a0-add" "$silo" add "$a0" "${start_files[@]}"
a0_loose=$(dir_bytes "$a0/objects")
say "silo A: full repack of ${#start_files[@]} downloads ($a0_loose loose bytes)"
timed "$work/a0-repack" "$silo" repack "$a0" --full --json "${extra[@]}"
cp "$work/a0-repack.out" "$work/a0.json"
check_json "$work/a0.json" "A, full repack" full
"$silo" verify "$a0" >/dev/null || { echo "nightly.sh: FAIL: silo verify of A after its full repack" >&2; exit 1; }
nb attribute "$a0" "$work/ids.tsv" "$work/packfam.json"
a0_packs=$(count "$a0/pack" '*.pack')
a0_pack_bytes=$(dir_bytes "$a0/pack")
# Families sharing a pack, and families in more than one pack, after the full repack.
a0_layout=$(python3 - "$a0" "$work/packfam.json" "$work/a0-layout.md" <<'EOF'
import json, os, sys
fam = json.load(open(sys.argv[2]))
stems = sorted(n[:-5] for n in os.listdir(os.path.join(sys.argv[1], "pack")) if n.endswith(".pack"))
per = {}
shared = []
for s in stems:
    fs = fam[s]["families"]
    if len(fs) > 1:
        by = fam[s].get("bytes", {})
        shared.append(f"- {s[:17]}: " + ", ".join(f"{f} {by.get(f, 0)}" for f in sorted(fs, key=lambda f: -by.get(f, 0))))
    for f in fs:
        per.setdefault(f, []).append(s)
multi = sorted(f"{f} ({len(p)})" for f, p in per.items() if len(p) > 1)
with open(sys.argv[3], "w") as o:
    o.write("\n".join(shared) + ("\n" if shared else ""))
print(f"{len(shared)} packs hold more than one project; projects in more than one pack: {', '.join(multi) or 'none'}")
EOF
)
say "A: $a0_packs packs, $a0_pack_bytes bytes in pack/; $a0_layout"

# ---------------------------------------------------------------- nginx (for the mirror)

# Bytes nginx sent, by kind of file: "kind requests bytes" lines, then "total requests bytes".
log_by_kind() {
  awk '{u = $1; k = "other"
        if (u ~ /info\/files\.json/) k = "info/files.json"
        else if (u ~ /multi-pack-index/) k = "multi-pack-index"
        else if (u ~ /\.pack$/) k = ".pack"
        else if (u ~ /\.idx$/) k = ".idx"
        else if (u ~ /\.split$/) k = ".split"
        else if (u ~ /\.fp$/) k = ".fp"
        else if (u ~ /\/objects\//) k = "loose objects"
        else if (u ~ /\/derived\//) k = "derived"
        n[k]++; b[k] += $3; tn++; tb += $3; if ($2 !~ /^2/) bad = bad " " $2 ":" u}
       END {for (k in n) printf "%s %d %d\n", k, n[k], b[k]; printf "total %d %.0f\n", tn, tb
            if (bad != "") printf "non-2xx %s\n", bad}' "$work/nginx/access.log"
}

# ---------------------------------------------------------------- steps 2-4: the nights

# run_nights POLICY DIR: the nights on DIR, repack flags per policy; rows to $work/rows-POLICY.
run_nights() {
  local policy=$1 s=$2 n key f added dl loose
  local -a files flags=()
  if [ "$policy" = inf ]; then flags=(--write-factor inf); fi
  : > "$work/rows-$policy"
  : > "$work/viol-$policy"
  : > "$work/coll-$policy"
  : > "$work/whole-$policy"
  for n in $(seq 1 "$n_nights"); do
    files=()
    added=""
    dl=0
    while IFS=$'\t' read -r key f; do
      files+=("$f")
      added+="${added:+,}$key"
      dl=$((dl + $(stat -c %s "$f")))
    done < <(night_files "$n")
    [ ${#files[@]} -gt 0 ] || continue
    if [ "$policy" = default ] && [ "$n" -eq "$n_nights" ]; then
      mirror_before "$s"
    fi
    nb listing "$s" "$work/before.json"
    local o0 o1
    o0=$(dir_bytes "$s/objects")
    "$silo" add "$s" "${files[@]}" > /dev/null
    o1=$(dir_bytes "$s/objects")
    loose=$((o1 - o0))
    timed "$work/night" "$silo" repack "$s" --json "${flags[@]}" "${extra[@]}"
    cp "$work/night.out" "$work/night-$policy-$n.json"
    check_json "$work/night.out" "$policy policy, night $n" incremental
    nb attribute "$s" "$work/ids.tsv" "$work/packfam.json"
    nb listing "$s" "$work/after.json"
    nb night "$work/before.json" "$work/after.json" "$work/packfam.json" "$added" "$work/night.json"
    local r=$work/night.json j=$work/night.out
    local written fp midx packish jbw jpw jpr lpw lpr nv verdict_w
    written=$(jq .written "$r"); fp=$(jq .fp "$r"); midx=$(jq .midx "$r"); packish=$(jq .packish "$r")
    lpw=$(jq .packs_written "$r"); lpr=$(jq .packs_removed "$r")
    jbw=$(jf "$j" bytes_written); jpw=$(jf "$j" packs_written); jpr=$(jf "$j" packs_removed)
    [ "$(jq .other "$r")" -eq 0 ] || anomaly "$policy policy, night $n: wrote other files in pack/: $(jq -c .other_files "$r")"
    [ "$jbw" = $((packish + fp)) ] || anomaly "$policy policy, night $n: bytes_written $jbw, but the new .pack+.idx+.split+.fp in pack/ are $((packish + fp)) bytes"
    [ "$jpw" = "$lpw" ] || anomaly "$policy policy, night $n: packs_written $jpw, but $lpw new .pack files appeared"
    [ "$jpr" = "$lpr" ] || anomaly "$policy policy, night $n: packs_removed $jpr, but $lpr .pack files went away"
    nv=$(jq '.violations | length' "$r")
    jq -r --arg p "$policy" --arg n "$n" '.violations[] | "- \($p) policy, night \($n): \(.)"' "$r" >> "$work/viol-$policy"
    jq -r --arg p "$policy" --arg n "$n" '.collateral[] | "- \($p) policy, night \($n): \(.)"' "$r" >> "$work/coll-$policy"
    if le "$packish" "$((3 * loose))"; then verdict_w=PASS; else verdict_w=FAIL; fi
    # releases this night's repack did not split, and why (its JSON's split.reasons)
    jq -r '.split.reasons[]? | "\(.id)\t\(.why)"' "$j" | while IFS=$'\t' read -r id why; do
      printf -- '- %s policy, night %s: %s (%s): %s\n' "$policy" "$n" \
        "$(awk -F'\t' -v i="$id" '$1 == i {print $2; exit}' "$work/ids.tsv")" "$(grep -F "$id" <(printf '%s\n' "${files[@]}" | git hash-object --stdin-paths | paste - <(printf '%s\n' "${files[@]}")) | cut -f2 | xargs -r basename)" "$why"
    done >> "$work/whole-$policy"
    printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' \
      "$n" "$(night_files "$n" | awk -F'\t' '{n = $2; sub(/.*\//, "", n); printf "%s%s", (NR > 1 ? ", " : ""), n}')" \
      "$dl" "$loose" "$written" "$packish" "$fp" "$midx" "$jbw" \
      "$(ratio "$packish" "$loose")" "$(ratio "$written" "$loose")" "$lpw/$lpr" "$jpw/$jpr/$(jf "$j" packs_kept)" \
      "$(jq .untouched_packs "$r")" "$(jq .collateral_bytes "$r")" "$(secs "$work/night")" "$(mb "$work/night")" \
      "$([ "$nv" -eq 0 ] && echo PASS || echo "FAIL ($nv)")" "$verdict_w" "$(ratio "$(jq .removed_pack_bytes "$r")" "$loose")" >> "$work/rows-$policy"
    say "$policy night $n ($added): loose $loose, wrote $written ($packish pack+idx+split, $fp fp, $midx midx), packs +$lpw -$lpr, $(secs "$work/night") s, $nv violations"
    if [ "$policy" = default ] && [ "$n" -eq "$n_nights" ]; then
      mirror_after "$s" "$written" "$packish" "$fp" "$midx"
    fi
  done
  "$silo" verify "$s" >/dev/null || { echo "nightly.sh: FAIL: silo verify of A ($policy policy) after the nights" >&2; exit 1; }
  # every download A should hold is there
  local missing
  missing=$(printf '%s\n' "${all_files[@]}" | git hash-object --stdin-paths | "$silo" cat "$s" --batch | grep -ac ' missing$' || true)
  [ "$missing" -eq 0 ] || { echo "nightly.sh: FAIL: $missing downloads missing from A ($policy policy)" >&2; exit 1; }
}

mirror_before() { # silo (served from its parent directory)
  start_nginx "$(dirname "$1")" "$work/nginx"
  mirror_url=http://127.0.0.1:$nginx_port/$(basename "$1")/
  : > "$work/nginx/access.log"
  timed "$work/mirror1" "$silo" mirror "$mirror_url" "$work/m.silo" --json --cache "$work/http-cache"
  log_by_kind > "$work/mirror1.log"
}
mirror_after() { # silo written packish fp midx
  : > "$work/nginx/access.log"
  timed "$work/mirror2" "$silo" mirror "$mirror_url" "$work/m.silo" --json --cache "$work/http-cache"
  log_by_kind > "$work/mirror2.log"
  local got sent
  got=$(jf "$work/mirror2.out" received_bytes)
  sent=$(awk '$1 == "total" {print $3}' "$work/mirror2.log")
  [ "$got" = "$sent" ] || anomaly "mirror after the last night: --json received_bytes $got, nginx sent $sent"
  mirror_night=("$2" "$3" "$4" "$5")
  "$silo" verify "$work/m.silo" >/dev/null || { echo "nightly.sh: FAIL: silo verify of the mirror" >&2; exit 1; }
  # packs the mirror holds that A no longer has (A removed them that night)
  comm -13 <(find "$1/pack" -name '*.pack' -printf '%f\n' | sort) <(find "$work/m.silo/pack" -name '*.pack' -printf '%f\n' | sort) > "$work/mirror-stale"
  comm -23 <(find "$1/pack" -name '*.pack' -printf '%f\n' | sort) <(find "$work/m.silo/pack" -name '*.pack' -printf '%f\n' | sort) > "$work/mirror-lacks"
  kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  rm -f "$work/nginx/nginx.pid"
}

cp -a "$a0" "$work/inf.silo"
mkdir -p "$work/www"
cp -a "$a0" "$work/www/a.silo"
say "the nights, default policy (--write-factor 3)"
run_nights default "$work/www/a.silo"
say "the nights, --write-factor inf"
run_nights inf "$work/inf.silo"

# ---------------------------------------------------------------- step 5: silo B

b=$work/b.silo
"$silo" init "$b" >/dev/null
"$silo" add "$b" "${all_files[@]}" > /dev/null
say "silo B: full repack of all ${#all_files[@]} downloads"
timed "$work/b-repack" "$silo" repack "$b" --full --json "${extra[@]}"
check_json "$work/b-repack.out" "B, full repack" full
"$silo" verify "$b" >/dev/null || { echo "nightly.sh: FAIL: silo verify of B" >&2; exit 1; }
b_pack=$(dir_bytes "$b/pack")
b_packonly=$(find "$b/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
b_packs=$(count "$b/pack" '*.pack')
final_row() { # silo
  local p po
  p=$(dir_bytes "$1/pack")
  po=$(find "$1/pack" -name '*.pack' -printf '%s\n' | awk '{s += $1} END {printf "%.0f\n", s}')
  printf '%s|%s|%s|%s|%s\n' "$(count "$1/pack" '*.pack')" "$p" "$(ratio "$p" "$b_pack")" "$po" "$(ratio "$po" "$b_packonly")"
}
IFS='|' read -r def_packs def_bytes def_ratio def_po def_po_ratio < <(final_row "$work/www/a.silo")
IFS='|' read -r inf_packs inf_bytes inf_ratio inf_po inf_po_ratio < <(final_row "$work/inf.silo")

# ---------------------------------------------------------------- step 6: lookups among many packs

say "lookups: $n_pairs synthetic families"
lk=$work/lookup
nb pairs "$lk/blobs" "$n_pairs" 16384 "$seed"
p=$lk/p.silo
"$silo" init "$p" >/dev/null
find "$lk/blobs" -type f -print0 | sort -z | xargs -0 -n 500 "$silo" add "$p" | awk '{print $1}' > "$lk/ids"
n_blobs=$(wc -l < "$lk/ids")
timed "$lk/p-repack" "$silo" repack "$p" --full --json "${extra[@]}"
check_json "$lk/p-repack.out" "P, full repack" full
p_packs=$(count "$p/pack" '*.pack')
p_midx=$([ -f "$p/pack/multi-pack-index" ] && stat -c %s "$p/pack/multi-pack-index" || echo 0)
[ "$p_midx" -gt 0 ] || anomaly "P: the full repack wrote no pack/multi-pack-index"
git init -q --bare "$lk/g.git"
find "$lk/blobs" -type f | sort | git --git-dir="$lk/g.git" hash-object -w --stdin-paths > "$lk/gids"
cmp -s <(sort "$lk/ids") <(sort "$lk/gids") || { echo "nightly.sh: silo add and git hash-object disagree on the synthetic ids" >&2; exit 1; }
timed "$lk/git" git --git-dir="$lk/g.git" -c pack.threads=2 pack-objects -q --window=250 --depth=50 "$lk/g" < "$lk/gids"
q=$lk/q.silo
"$silo" init "$q" >/dev/null
h=$(cat "$lk/git.out")
cp "$lk/g-$h.pack" "$q/pack/pack-$h.pack"
cp "$lk/g-$h.idx" "$q/pack/pack-$h.idx"
"$silo" verify "$q" >/dev/null || { echo "nightly.sh: FAIL: silo verify of Q (the git pack)" >&2; exit 1; }
nb shuffled "$lk/ids" "$seed" > "$lk/order"
head -n 100 "$lk/order" > "$lk/order100"
# best of 3: "seconds rss-bytes" of the fastest
best3() { # prefix command...
  local i best="" t
  for i in 1 2 3; do
    timed "$1.$i" "${@:2}"
    t=$(secs "$1.$i")
    if [ -z "$best" ] || ! le "$(secs "$best")" "$t"; then best=$1.$i; fi
  done
  echo "$(secs "$best") $(cat "$best.rss")"
}
# shellcheck disable=SC2016 # the inner sh expands them
batch=('sh' '-c' '"$1" cat "$2" --batch < "$3" > /dev/null' sh)
# shellcheck disable=SC2016
singles=('sh' '-c' 'while read -r id; do "$1" cat "$2" "$id" > /dev/null; done < "$3"' sh)
md5() { md5sum | cut -d' ' -f1; }
ref=$("$silo" cat "$q" --batch < "$lk/order" | md5)
[ "$("$silo" cat "$p" --batch < "$lk/order" | md5)" = "$ref" ] || { echo "nightly.sh: FAIL: cat --batch of P and of Q differ" >&2; exit 1; }
read -r t_q r_q < <(best3 "$lk/q" "${batch[@]}" "$silo" "$q" "$lk/order")
read -r t_p r_p < <(best3 "$lk/p" "${batch[@]}" "$silo" "$p" "$lk/order")
read -r s_q _ < <(best3 "$lk/sq" "${singles[@]}" "$silo" "$q" "$lk/order100")
read -r s_p _ < <(best3 "$lk/sp" "${singles[@]}" "$silo" "$p" "$lk/order100")
mv "$p/pack/multi-pack-index" "$lk/midx.away" 2>/dev/null || true
[ "$("$silo" cat "$p" --batch < "$lk/order" | md5)" = "$ref" ] || { echo "nightly.sh: FAIL: cat --batch of P without its multi-pack-index differs" >&2; exit 1; }
read -r t_pn r_pn < <(best3 "$lk/pn" "${batch[@]}" "$silo" "$p" "$lk/order")
read -r s_pn _ < <(best3 "$lk/spn" "${singles[@]}" "$silo" "$p" "$lk/order100")
[ -f "$lk/midx.away" ] && mv "$lk/midx.away" "$p/pack/multi-pack-index"

# ---------------------------------------------------------------- report

msum() { awk -F'|' -v c="$2" '{s += $c} END {printf "%.0f", s}' "$1"; }
mmax() { awk -F'|' -v c="$2" 'BEGIN {m = 0} $c != "-" && $c + 0 > m {m = $c + 0; n = $1} END {printf "%.3f (night %s)", m, n}' "$1"; }
night_table() { # policy
  echo "| night | added | download bytes | loose bytes added | written to pack/ (listing) | of which .pack+.idx+.split | .fp | multi-pack-index | repack \`bytes_written\` | (pack+idx+split) / loose | all written / loose | packs +new/-removed (listing) | packs written/removed/kept (JSON) | other packs untouched | other projects' bytes in the packs written | seconds | peak RSS MB | packs without an added project untouched | pack+idx+split <= 3 x loose | .pack bytes removed / loose (copied family packs) |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---|---:|"
  awk -F'|' 'BEGIN {OFS = " | "} {$1 = $1; print "| " $0 " |"}' "$work/rows-$1"
  printf '| all | | %s | %s | %s | %s | %s | %s | %s | %s | %s | | | | %s | %s | | | | |\n' \
    "$(msum "$work/rows-$1" 3)" "$(msum "$work/rows-$1" 4)" "$(msum "$work/rows-$1" 5)" "$(msum "$work/rows-$1" 6)" \
    "$(msum "$work/rows-$1" 7)" "$(msum "$work/rows-$1" 8)" "$(msum "$work/rows-$1" 9)" \
    "$(ratio "$(msum "$work/rows-$1" 6)" "$(msum "$work/rows-$1" 4)")" "$(ratio "$(msum "$work/rows-$1" 5)" "$(msum "$work/rows-$1" 4)")" \
    "$(msum "$work/rows-$1" 15)" "$(awk -F'|' '{s += $16} END {printf "%.2f", s}' "$work/rows-$1")"
}
kv() { awk -v k="$1" '$1 == k {print $3 + 0; f = 1} END {if (!f) print 0}' "$2"; }

# shellcheck disable=SC2016 # Markdown backquotes in printf formats
report() {
  local cores mem total_s
  cores=$(nproc)
  mem=$(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)
  total_s=$(( $(date +%s) - started ))
  echo "# The nightly repack touches only what changed"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $cores cores, $mem RAM; checkout \`$desc\` ($([ -n "$dirty" ] && echo "with uncommitted changes to: $dirty" || echo "no uncommitted changes outside benches/")) when \`$silo\` was built ($built); $("$silo" --version); $(git --version)."
  echo
  local envs="" var
  for var in NIGHTLY_BENCH_CACHE NIGHTLY_BENCH_PYPI NIGHTLY_BENCH_CRATES NIGHTLY_BENCH_NPM NIGHTLY_BENCH_SEED NIGHTLY_BENCH_NIGHTS NIGHTLY_BENCH_PAIRS SILO_REPACK_FLAGS; do
    if [ -n "${!var+x}" ]; then envs+="$var=\"${!var}\" "; fi
  done
  printf 'Reproduce: `%sbenches/nightly.sh` (all: fetch what the cache lacks, then measure; `run` measures only). Seed %s, %s nights, %s synthetic families; cache %s; repack flags: `%s`. This run took %s s.\n' \
    "$envs" "$seed" "$n_nights" "$n_pairs" "${cache/#$HOME/\~}" "${extra[*]:-(none)}" "$total_s"
  echo
  echo "## Corpus"
  echo
  echo "Real releases as downloaded (stored split by the engine: tar plus recipe). Long families (>= $long_min releases) get two nights; the schedule draws the others."
  echo
  echo "| family | ecosystem | releases | in A at the start | held back for the nights | download bytes | content bytes (gunzipped) |"
  echo "|---|---|---:|---:|---|---:|---:|"
  local key v hb nrel nstart tb=0 tc=0 tr=0
  for key in "${fam_keys[@]}"; do
    hb=""; nrel=0; nstart=0
    for v in ${fam_versions[$key]}; do
      nrel=$((nrel + 1))
      if [ -n "${held[$key/$v]:-}" ]; then hb+="${hb:+, }$v (night ${held[$key/$v]})"; else nstart=$((nstart + 1)); fi
    done
    tb=$((tb + fam_bytes[$key])); tc=$((tc + ${fam_content[$key]:-0})); tr=$((tr + nrel))
    printf '| %s | %s | %d | %d | %s | %d | %d |\n' "$key" "${fam_eco[$key]}" "$nrel" "$nstart" "${hb:--}" "${fam_bytes[$key]}" "${fam_content[$key]:-0}"
  done
  printf '| **%d families** | | %d | %d | %d | %d | %d |\n' "${#fam_keys[@]}" "$tr" "${#start_files[@]}" "$((tr - ${#start_files[@]}))" "$tb" "$tc"
  echo
  echo "Schedule (seed $seed):"
  echo
  awk -F'\t' '{a[$1] = a[$1] (a[$1] == "" ? "" : ", ") $2 " " $3} END {for (n = 1; n in a; n++) printf "- night %d: %s\n", n, a[n]}' "$work/schedule.tsv"
  echo
  echo "## Step 1: silo A"
  echo
  printf '`silo add` of %d downloads: %d loose bytes in objects/, %s s. `silo repack --full --json`: %s s, peak RSS %s MB; %s objects, %s packs written; pack/ %d bytes (%d packs). %s.\n' \
    "${#start_files[@]}" "$a0_loose" "$(secs "$work/a0-add")" "$(secs "$work/a0-repack")" "$(mb "$work/a0-repack")" \
    "$(jf "$work/a0.json" objects)" "$(jf "$work/a0.json" packs_written)" "$a0_pack_bytes" "$a0_packs" "$a0_layout"
  echo
  if [ -s "$work/a0-layout.md" ]; then
    echo "Packs of A holding more than one project (the engine's family is the blobs linked by deltas; entry bytes per project, by the packs' idx):"
    echo
    cat "$work/a0-layout.md"
    echo
  fi
  echo "## Step 2: the nights, default policy (\`silo repack --json\`, --write-factor 3)"
  echo
  night_table default
  echo
  echo "## Step 3: the same nights, \`--write-factor inf\`"
  echo
  night_table inf
  echo
  echo "\"written to pack/\" is every file of pack/ that is new or changed after the night (name, size, inode, mtime, md5 compared with a listing before): packs, idx, .split, .fp and the multi-pack-index; \`bytes_written\` is repack's JSON (new .pack+.idx+.split+.fp). \"loose bytes\" is what \`silo add\` put in objects/ that night. \"other packs untouched\": packs holding nothing of the projects added that night, still there with the same name, size, inode, mtime and md5. \"other projects' bytes\": entries of projects not added that night in the packs the night wrote (the engine's family can span projects)."
  echo
  echo "## Final size against B"
  echo
  echo "B: a fresh silo of all ${#all_files[@]} downloads A ends with, \`silo repack --full\`: $b_packs packs, $(secs "$work/b-repack") s, peak RSS $(mb "$work/b-repack") MB."
  echo
  echo "| silo | packs | pack/ bytes | x B | .pack bytes | x B |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '| B (full repack) | %s | %s | 1.000 | %s | 1.000 |\n' "$b_packs" "$b_pack" "$b_packonly"
  printf '| A after %s nights, default (--write-factor 3) | %s | %s | %s | %s | %s |\n' "$n_nights" "$def_packs" "$def_bytes" "$def_ratio" "$def_po" "$def_po_ratio"
  printf '| A after %s nights, --write-factor inf | %s | %s | %s | %s | %s |\n' "$n_nights" "$inf_packs" "$inf_bytes" "$inf_ratio" "$inf_po" "$inf_po_ratio"
  echo
  echo "## Step 4: mirror"
  echo
  local m1 m2 m2r w
  m1=$(kv total "$work/mirror1.log")
  m2=$(kv total "$work/mirror2.log")
  m2r=$(awk '$1 == "total" {print $2}' "$work/mirror2.log")
  w=${mirror_night[0]}
  printf 'M = `silo mirror` of A (default policy) served by nginx on 127.0.0.1, before night %s: %s bytes in %s requests, %s s. After night %s, `silo mirror` again:\n' \
    "$n_nights" "$m1" "$(awk '$1 == "total" {print $2}' "$work/mirror1.log")" "$(secs "$work/mirror1")" "$n_nights"
  echo
  echo "| file kind | requests | bytes (nginx \$body_bytes_sent) |"
  echo "|---|---:|---:|"
  grep -v -e '^total ' -e '^non-2xx' "$work/mirror2.log" | sort | awk '{printf "| %s | %s | %s |\n", $1, $2, $3}'
  printf '| **total** | %s | %s |\n' "$m2r" "$m2"
  echo
  printf 'Night %s wrote %s bytes to pack/ (%s .pack+.idx+.split, %s .fp, %s multi-pack-index). The mirror downloaded %s x that; %s s. Its `--json`: `%s`.' \
    "$n_nights" "$w" "${mirror_night[1]}" "${mirror_night[2]}" "${mirror_night[3]}" "$(ratio "$m2" "$w")" "$(secs "$work/mirror2")" "$(jq -c . "$work/mirror2.out" 2>/dev/null || echo 'no JSON')"
  echo
  echo
  if grep -q '^non-2xx' "$work/mirror2.log" "$work/mirror1.log"; then echo "Requests that were not 2xx: $(grep -h '^non-2xx' "$work/mirror1.log" "$work/mirror2.log" | cut -d' ' -f2- | tr '\n' ' ')"; echo; fi
  printf 'Afterwards M holds %d packs that A removed that night and lacks %d of A'"'"'s; M'"'"'s pack/ has %d .fp files and %s multi-pack-index (A'"'"'s has %d and %s).\n' \
    "$(wc -l < "$work/mirror-stale")" "$(wc -l < "$work/mirror-lacks")" \
    "$(count "$work/m.silo/pack" '*.fp')" "$([ -f "$work/m.silo/pack/multi-pack-index" ] && echo a || echo no)" \
    "$(count "$work/www/a.silo/pack" '*.fp')" "$([ -f "$work/www/a.silo/pack/multi-pack-index" ] && echo a || echo no)"
  echo
  echo "## Step 5: lookups among $p_packs packs"
  echo
  printf 'P: %d synthetic families (a seeded random 16 KB text and an edit of it: one line replaced in its last quarter, one appended), %d blobs, `silo repack --full`: %s packs (%s s, peak RSS %s MB), multi-pack-index %s bytes. Q: the same blobs in one pack by `git pack-objects --window=250 --depth=50` (%s s), copied into a fresh silo. Ids in a seeded random order; best of 3; outputs of P and Q identical.\n' \
    "$n_pairs" "$n_blobs" "$p_packs" "$(secs "$lk/p-repack")" "$(mb "$lk/p-repack")" "$p_midx" "$(secs "$lk/git")"
  echo
  echo "| lookup | seconds | x Q | peak RSS MB |"
  echo "|---|---:|---:|---:|"
  printf '| `silo cat Q --batch`, %d ids (one pack) | %s | 1.000 | %.0f |\n' "$n_blobs" "$t_q" "$(awk -v b="$r_q" 'BEGIN {print b / 1e6}')"
  printf '| `silo cat P --batch`, %d ids (%d packs, multi-pack-index) | %s | %s | %.0f |\n' "$n_blobs" "$p_packs" "$t_p" "$(ratio "$t_p" "$t_q")" "$(awk -v b="$r_p" 'BEGIN {print b / 1e6}')"
  printf '| `silo cat P --batch`, %d ids, multi-pack-index moved away | %s | %s | %.0f |\n' "$n_blobs" "$t_pn" "$(ratio "$t_pn" "$t_q")" "$(awk -v b="$r_pn" 'BEGIN {print b / 1e6}')"
  printf '| 100 x `silo cat Q ID` (a process each) | %s | 1.000 | - |\n' "$s_q"
  printf '| 100 x `silo cat P ID` | %s | %s | - |\n' "$s_p" "$(ratio "$s_p" "$s_q")"
  printf '| 100 x `silo cat P ID`, multi-pack-index moved away | %s | %s | - |\n' "$s_pn" "$(ratio "$s_pn" "$s_q")"
  echo
  echo "## Targets"
  echo
  local nd ni wd wi maxw
  nd=$(wc -l < "$work/viol-default"); ni=$(wc -l < "$work/viol-inf")
  wd=$(awk -F'|' '$19 != "PASS"' "$work/rows-default" | wc -l)
  wi=$(awk -F'|' '$19 != "PASS"' "$work/rows-inf" | wc -l)
  maxw=$(mmax "$work/rows-default" 10)
  echo "- $([ "$wd" -eq 0 ] && echo PASS || echo FAIL): each nightly (default policy) writes at most 3 x the loose bytes it added, plus .fp: largest (.pack+.idx+.split) / loose $maxw; $wd of $(wc -l < "$work/rows-default") nights over. With the multi-pack-index counted too, the largest all-written / loose is $(mmax "$work/rows-default" 11)."
  echo "- (the family packs a night removed were at most $(mmax "$work/rows-default" 20) x the loose bytes it added (default policy): the 3 x budget $(awk -F'|' '$20 != "-" && $20 + 0 > 3' "$work/rows-default" | grep -q . && echo "was exceeded on some nights" || echo "was never reached, so both policies can write the same"); new packs written beside a family's old pack: $(awk -F'|' '{split($12, a, "/"); s += a[1] - a[2]} END {print s + 0}' "$work/rows-default") (default), $(awk -F'|' '{split($12, a, "/"); s += a[1] - a[2]} END {print s + 0}' "$work/rows-inf") (inf).)"
  echo "- (for comparison, --write-factor inf: largest (.pack+.idx+.split) / loose $(mmax "$work/rows-inf" 10); $wi nights over 3 x.)"
  local cd ci cbd cbi
  cd=$(wc -l < "$work/coll-default"); ci=$(wc -l < "$work/coll-inf")
  cbd=$(msum "$work/rows-default" 15); cbi=$(msum "$work/rows-inf" 15)
  echo "- $([ "$nd" -eq 0 ] && echo PASS || echo FAIL): no nightly (default policy) removes, writes or changes a pack that holds nothing of the projects it added (every such pack still there with the same name, size, inode, mtime and md5; at most one pack removed per project added; nothing rewritten in place): $nd violations."
  echo "- $([ "$ni" -eq 0 ] && echo PASS || echo FAIL): the same with --write-factor inf: $ni violations."
  echo "- $([ "$cbd" -eq 0 ] && echo PASS || echo FAIL): no nightly (default policy) writes a byte of a project it did not add to: $cd packs removed or written also held other projects' objects; the packs written copied $cbd bytes of other projects' entries (--write-factor inf: $ci, $cbi bytes). Cause: the engine's families (blobs linked by deltas) span projects, see step 1."
  echo "- $(verdict "$def_ratio" 1.05): A's pack/ after the nights (default policy) <= 1.05 x B: $def_ratio ($def_bytes / $b_pack bytes)."
  echo "- $(verdict "$inf_ratio" 1.05): A's pack/ after the nights (--write-factor inf) <= 1.05 x B: $inf_ratio ($inf_bytes / $b_pack bytes)."
  local allowed
  allowed=$((w + $(kv info/files.json "$work/mirror2.log")))
  echo "- $(verdict "$m2" "$allowed"): the mirror after the last nightly downloads at most what that night wrote plus info/files.json: $m2 bytes against $w + $(kv info/files.json "$work/mirror2.log") = $allowed (multi-pack-index: $(kv multi-pack-index "$work/mirror2.log") bytes downloaded; .pack+.idx+.split+.fp: $(( $(kv .pack "$work/mirror2.log") + $(kv .idx "$work/mirror2.log") + $(kv .split "$work/mirror2.log") + $(kv .fp "$work/mirror2.log") )) against ${mirror_night[1]} + ${mirror_night[2]} written)."
  echo "- $(verdict "$t_p" "$(awk -v q="$t_q" 'BEGIN {print 1.2 * q}')"): \`silo cat --batch\` among $p_packs packs with the multi-pack-index <= 1.2 x one pack: $t_p s against $t_q s ($(ratio "$t_p" "$t_q") x); without the index $t_pn s ($(ratio "$t_pn" "$t_q") x)."
  echo
  if [ -s "$work/viol-default" ] || [ -s "$work/viol-inf" ]; then
    echo "Violations (packs holding nothing of the projects added that night):"
    echo
    cat "$work/viol-default" "$work/viol-inf"
    echo
  fi
  if [ -s "$work/coll-default" ] || [ -s "$work/coll-inf" ]; then
    echo "Packs removed or written that also held other projects' objects:"
    echo
    cat "$work/coll-default" "$work/coll-inf"
    echo
  fi
  if [ -s "$work/whole-default" ] || [ -s "$work/whole-inf" ]; then
    echo "Downloads a nightly stored whole instead of split (repack's \`split.reasons\`); compare B's full repack, which relates every release of a family:"
    echo
    cat "$work/whole-default" "$work/whole-inf"
    echo
  fi
  if [ -s "$work/anomalies" ]; then
    echo "Engine figures that disagree with what was measured, or are missing:"
    echo
    cat "$work/anomalies"
  else
    echo "Every \`repack --json\` had the fields $(printf '`%s` ' "${fields[@]}")and its \`bytes_written\`, \`packs_written\` and \`packs_removed\` matched the listings of pack/."
  fi
}

mkdir -p "$(dirname "$out_md")"
report > "$out_md.new"
mv "$out_md.new" "$out_md"
cat "$out_md"
