#!/usr/bin/env bash
# Runs every test of the workspace, natively, after installing what the
# tests need (git is the oracle of most of them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace "$@"
