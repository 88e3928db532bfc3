#!/usr/bin/env bash
# The main job on the bundled example: two families of related releases
# (testdata/example: demo-1.x and widget-1.x, uncompressed tars) and a few
# small files go into a silo in a temporary directory as loose blobs; the
# silo is repacked and verified, and its size is shown before and after,
# beside what `git repack -adf --window=250 --depth=50` makes of the same
# blobs (when git is installed).
#
# On a fresh machine it first installs what the build needs
# (scripts/install-deps.sh --build: libclang, for the xdelta3 crate's
# bindgen), and says nothing when that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build
cargo build --release -q -p trees-silo
silo=$PWD/target/release/silo
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
inputs=(testdata/files/* testdata/example/*.tar)

$silo init "$dir/example.silo"
$silo add "$dir/example.silo" "${inputs[@]}"
echo "--- before repack (loose gzip blobs)"
$silo du "$dir/example.silo"
echo "--- repack"
$silo repack "$dir/example.silo"
echo "--- verify"
$silo verify "$dir/example.silo"
echo "--- after repack"
$silo du "$dir/example.silo"

# The figures that matter, side by side: the raw bytes, the loose silo, the
# repacked silo, and git's most aggressive repack of the same blobs.
raw=$(cat "${inputs[@]}" | wc -c)
# Apparent bytes of the files under $1 whose names match $2.
bytes_of() { find "$1" -type f -name "$2" -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3fx", a / b }'; }
after=$(bytes_of "$dir/example.silo/pack" "*")
before=$($silo init "$dir/loose.silo" >/dev/null && $silo add "$dir/loose.silo" "${inputs[@]}" >/dev/null \
  && bytes_of "$dir/loose.silo/objects" "*")
echo "--- summary (bytes; files: ${#inputs[@]}, families: demo-1.x, widget-1.x)"
printf '%-54s %10s\n' "raw content" "$raw"
printf '%-54s %10s  %s raw\n' "silo before repack (loose gzip)" "$before" "$(ratio "$before" "$raw")"
printf '%-54s %10s  %s raw\n' "silo after repack (all of pack/)" "$after" "$(ratio "$after" "$raw")"
if command -v git >/dev/null; then
  # The same files committed (git packs only what is reachable; the commit
  # and its tree add about 1 kB), then git's most aggressive repack.
  git init -q "$dir/git"
  cp "${inputs[@]}" "$dir/git/"
  git -C "$dir/git" add -A
  git -C "$dir/git" -c user.name=example -c user.email=example@example.invalid commit -qm example
  git -C "$dir/git" repack -q -adf --window=250 --depth=50
  git_bytes=$(( $(bytes_of "$dir/git/.git/objects/pack" "*.pack") + $(bytes_of "$dir/git/.git/objects/pack" "*.idx") ))
  printf '%-54s %10s  %s raw\n' "git repack -adf --window=250 --depth=50 (.pack+.idx)" "$git_bytes" "$(ratio "$git_bytes" "$raw")"
  printf '%-54s %10s\n' "silo after repack / git repack" "$(ratio "$after" "$git_bytes")"
else
  echo "(git is not installed: no comparison with git repack)"
fi
