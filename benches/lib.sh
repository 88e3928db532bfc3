# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, after `root` is set).

# need NAME TOOL...: fails naming the first tool that is missing.
need() {
  local name=$1 tool
  shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name needs $tool" >&2; exit 2; }
  done
}

# silo_bin: $SILO_BIN, or a release build of this checkout's silo; sets `silo`.
silo_bin() {
  if [ -n "${SILO_BIN:-}" ]; then
    silo=$SILO_BIN
  else
    cargo build --release -q -p trees-cli
    silo=${root:?}/target/release/silo
  fi
  [ -x "$silo" ] || { echo "no silo at $silo" >&2; exit 2; }
}
