#!/usr/bin/env bash
# Installs what the tests need and is missing: git and gzip (oracles),
# xz, zstd and dpkg-deb (the producers of the package tests),
# python3 (its gzip and zipfile modules are producers the split tests use),
# zip and unzip (Info-ZIP: zips to split, and the check of those rebuilt),
# node, pigz, libdeflate-gzip and go (deflate encoders whose streams the
# trees-deflate tests re-make),
# nginx (serves silos over HTTP in the remote tests),
# xdelta3 and zstd (the stock tools that must apply our client deltas),
# moto (a real S3 server, from PyPI, that the object-storage tests start on
# 127.0.0.1), libclang (the xdelta3 crate generates its bindings with bindgen at build
# time), the aarch64 cross toolchain and qemu-user (the aarch64 run), the
# Rust target, rustfmt and clippy. Safe to run again: it installs only what is
# missing, and says nothing when nothing is.
#
#   scripts/install-deps.sh           everything the tests need
#   scripts/install-deps.sh --build   only what `cargo build` needs (libclang):
#                                     scripts/example.sh runs this, so that the
#                                     README's first command works on a fresh machine
set -euo pipefail

need_apt=()
# The xdelta3 crate's build script runs bindgen, which loads libclang.so
# (libclang-cpp, which some images ship, is another library).
compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null || need_apt+=(libclang-dev)
build_only=""
[ "${1:-}" != --build ] || build_only=1
if [ -z "$build_only" ]; then
  command -v git >/dev/null || need_apt+=(git)
  command -v gzip >/dev/null || need_apt+=(gzip)
  command -v python3 >/dev/null || need_apt+=(python3)
  command -v du >/dev/null || need_apt+=(coreutils)
  command -v xdelta3 >/dev/null || need_apt+=(xdelta3)
  # Real deflate encoders whose streams trees-deflate's tests re-make.
  command -v node >/dev/null || need_apt+=(nodejs)
  command -v pigz >/dev/null || need_apt+=(pigz)
  command -v libdeflate-gzip >/dev/null || need_apt+=(libdeflate-tools)
  command -v go >/dev/null || need_apt+=(golang-go)
  command -v zstd >/dev/null || need_apt+=(zstd)
  command -v xz >/dev/null || need_apt+=(xz-utils)
  # Info-ZIP makes the zips the split tests re-make; unzip -t checks them.
  command -v zip >/dev/null || need_apt+=(zip)
  command -v unzip >/dev/null || need_apt+=(unzip)
  # dpkg-deb builds the .deb files the package tests split, and reads back
  # what silo cat rebuilds.
  command -v dpkg-deb >/dev/null || need_apt+=(dpkg)
  command -v aarch64-linux-gnu-gcc >/dev/null || need_apt+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
  command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
  # The HTTP tests serve silos with a real nginx, started by each test on
  # 127.0.0.1 from its own configuration.
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need_apt+=(nginx)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: installing ${need_apt[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Packages must not start services (nginx would take port 80): the
  # tests start their own. policy-rc.d says so to invoke-rc.d.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ] && [ -w /usr/sbin ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
fi

[ -z "$build_only" ] || exit 0

# The object-storage tests start moto's S3 server (moto_server) on
# 127.0.0.1; it implements create-only (If-None-Match) and compare-and-swap
# (If-Match) puts.
if ! command -v moto_server >/dev/null; then
  echo "install-deps: installing moto[server] (an S3 server for the bucket tests)"
  python3 -m pip install --quiet 'moto[server]>=5' 2>&1 | grep -v "Running pip as the 'root' user" || true
  command -v moto_server >/dev/null || { echo "install-deps: moto_server is still missing" >&2; exit 1; }
fi
# The zip tests build a wheel with `pip wheel --no-build-isolation`, as a
# project's CI does: setuptools builds it, and before 70.1 it needs the
# `wheel` package for that.
if ! python3 -c 'import setuptools, wheel' 2>/dev/null; then
  echo "install-deps: installing setuptools and wheel (the zip tests build a wheel)"
  python3 -m pip install --quiet setuptools wheel 2>&1 | grep -v "Running pip as the 'root' user" || true
  python3 -c 'import setuptools, wheel' || { echo "install-deps: setuptools or wheel is still missing" >&2; exit 1; }
fi
# A second S3 server, for dialect differences (scripts/test.sh runs the
# bucket tests on it too): s3s-fs 0.14 (later versions need a newer rustc).
if ! command -v s3s-fs >/dev/null; then
  echo "install-deps: installing s3s-fs (a second S3 server for the bucket tests; about 3 minutes)"
  cargo install --quiet --locked s3s-fs@0.14.1 --features binary
fi

if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  echo "install-deps: adding the Rust target aarch64-unknown-linux-gnu"
  rustup target add aarch64-unknown-linux-gnu
fi
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

# The fuzz smoke run of .ci/run (scripts/fuzz.sh) needs nightly and cargo-fuzz.
if [ "${TREES_FUZZ_DEPS:-0}" = 1 ]; then
  if ! rustup toolchain list | grep -q '^nightly'; then
    echo "install-deps: adding the nightly toolchain (cargo fuzz)"
    rustup toolchain install nightly --profile minimal
  fi
  if ! command -v cargo-fuzz >/dev/null; then
    echo "install-deps: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
fi
