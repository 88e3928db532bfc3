#!/bin/sh
# Remakes the pack that real git writes for trees-pack's tests
# (pack/tests/pack/read_git.rs reads it): the four releases of the seeded
# series "fixture" (trees_testdata::Options::small(9)), stored as blobs in a
# scratch repository, then packed by git at its most aggressive, OFS_DELTA
# entries and one thread (so the same git makes the same pack). The pack and
# its idx are committed under their checksum name, pack-<sha>.{pack,idx}.
#
# Usage: testdata/git-packs/make.sh   (from anywhere; needs git and cargo)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# Only the repository named below, and no one's configuration.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY \
    GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_COMMON_DIR
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null LC_ALL=C

cargo run --quiet --manifest-path "$root/Cargo.toml" -p trees-testdata --bin gen-series -- \
    fixture 9 4 "$tmp/tars" small >"$tmp/paths"

repo="$tmp/repo.git"
git init --quiet --bare --object-format=sha1 "$repo"
git --git-dir="$repo" hash-object -w --stdin-paths <"$tmp/paths" >"$tmp/ids"

# "<id> <file name>": pack-objects hashes the name to sort releases together.
paste -d ' ' "$tmp/ids" "$tmp/paths" | while read -r id path; do
    echo "$id $(basename "$path")"
done >"$tmp/objects"

rm -f "$here"/pack-*.pack "$here"/pack-*.idx
git --git-dir="$repo" -c pack.writeReverseIndex=false pack-objects \
    --window=250 --depth=50 --delta-base-offset --threads=1 -q \
    "$here/pack" <"$tmp/objects" >"$tmp/checksum"

echo "wrote $here/pack-$(cat "$tmp/checksum").{pack,idx}"
ls -l "$here"
