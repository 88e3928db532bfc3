#!/usr/bin/env bash
# Cross-builds the test suite for aarch64-unknown-linux-gnu and runs it
# under qemu-aarch64. The tests spawn `silo` through $TREES_RUNNER; git runs
# natively (qemu-user hands execve of a host binary to the host).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# Build scripts run their probes under qemu: see scripts/cc-aarch64.sh.
export CC_aarch64_unknown_linux_gnu="$PWD/scripts/cc-aarch64.sh"
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu"
export TREES_RUNNER="$CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
# silo rebuilds split gzip files in a worker process, itself: under
# emulation that process needs the runner too (trees_split::worker).
export TREES_REBUILD_WORKER="$TREES_RUNNER $PWD/target/aarch64-unknown-linux-gnu/debug/silo"
# qemu-user allocates its translation blocks with GLib's slice allocator,
# whose lock is not reset in a forked child (GLib before 2.76, as in Debian
# 12): a test that spawns a process while another thread translates code
# can leave the child stuck before its exec, and the test run hangs (seen
# here: the child in g_slice_alloc under tcg_tb_insert). Plain malloc is
# fork-safe.
export G_SLICE=always-malloc

# pack_past_2gib moves 2.3 GiB through zlib and SHA-1 three times: under
# emulation that alone would take most of CI's time. It runs natively in
# scripts/test.sh; here it is skipped, and we say so.
echo "aarch64: skipping pack_past_2gib under qemu (it runs in the native run)"
cargo test --workspace --target aarch64-unknown-linux-gnu "$@" -- --skip pack_past_2gib

# The benches, in criterion's test mode (each benchmark runs once): they
# build and run on aarch64; timing them under emulation would mean nothing.
cargo bench --target aarch64-unknown-linux-gnu -p trees-benches -- --test
