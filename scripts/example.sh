#!/usr/bin/env bash
# The main job on the bundled example: a silo in a temporary directory, the
# files of testdata/ added, repacked, verified, and its size before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p trees-silo
silo=target/release/silo
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
$silo init "$dir/example.silo"
$silo add "$dir/example.silo" testdata/files/* testdata/example/*.tar
echo "--- before repack"
$silo du "$dir/example.silo"
echo "--- repack"
$silo repack "$dir/example.silo"
echo "--- verify"
$silo verify "$dir/example.silo"
echo "--- after repack"
$silo du "$dir/example.silo"
