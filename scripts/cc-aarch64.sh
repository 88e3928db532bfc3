#!/usr/bin/env bash
# The C compiler of the aarch64 cross build: aarch64-linux-gnu-gcc, except
# that a program it links (not an object file) is wrapped in a small script
# that runs it under qemu-aarch64. Build scripts that compile and run a probe
# on the build machine (the xdelta3 crate's, for sizeof checks) then work
# without binfmt_misc, which containers rarely have.
set -euo pipefail
aarch64-linux-gnu-gcc "$@"
out="" prev="" compile_only=0
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  case "$a" in -c|-S|-E) compile_only=1 ;; esac
  prev="$a"
done
if [ "$compile_only" = 0 ] && [ -n "$out" ] && [ -f "$out" ] && [[ "$out" != *.so ]]; then
  mv "$out" "$out.aarch64"
  printf '#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu "%s.aarch64" "$@"\n' "$out" >"$out"
  chmod +x "$out"
fi
