#!/usr/bin/env bash
# Runs every test of the workspace, natively, after installing what the
# tests need (git is the oracle of most of them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace "$@"
# The bucket tests again on a second S3 server (s3s-fs instead of moto),
# for dialect differences: all but the 105-kill crash test (whose puts,
# swaps and deletes the others already make on this server) and the
# directory variants.
TREES_S3_SERVER=s3s-fs cargo test -p trees-cli --test silo --test medo "$@" -- \
  bucket roundtrip --skip repack_and_gc_killed_at_every_crash_point --skip _dir
