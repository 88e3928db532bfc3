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

# Skipped under qemu, and we say so; they run natively in scripts/test.sh:
# pack_past_2gib moves 2.3 GiB through zlib and SHA-1 three times (under
# emulation that alone would take most of CI's time), and three bucket
# tests start several hundred silo processes each (a kill or a pause at
# every crash point, with a fresh bucket each time), as does the test that
# kills a nightly and a gc at every crash point of theirs. The other
# bucket tests run here too.
heavy=(pack_past_2gib
  bucket::repack_and_gc_killed_at_every_crash_point_lose_nothing
  bucket::readers_during_every_step_of_a_repack_and_a_gc_find_every_object
  roundtrip::expand_from_a_bucket_at_every_step_of_a_repack_and_a_gc
  families::a_nightly_and_a_gc_killed_at_every_crash_point_lose_nothing)
echo "aarch64: skipping under qemu (they run in the native run): ${heavy[*]}"
skips=()
for t in "${heavy[@]}"; do skips+=(--skip "$t"); done
cargo test --workspace --target aarch64-unknown-linux-gnu "$@" -- "${skips[@]}"

# The benches, in criterion's test mode (each benchmark runs once): they
# build and run on aarch64; timing them under emulation would mean nothing.
cargo bench --target aarch64-unknown-linux-gnu -p trees-benches -- --test
