#!/usr/bin/env bash
# The main job on the bundled example: three families of related releases
# (testdata/example: demo-1.x and widget-1.x, uncompressed tars, and
# gadget-1.x, .tar.gz as downloaded, made by GNU gzip -9) and a few small
# files go into a silo in a temporary directory as loose blobs; the silo is
# repacked and verified, and its size is shown before and after, beside
# what `git repack -adf --window=250 --depth=50` makes of the same blobs
# (when git is installed). The .tar.gz files are stored split (their tar
# plus a recipe of a few dozen bytes: docs/guide.md, "Compressed releases"): the
# summary also shows the gadget family alone, as downloaded and as tars.
#
# On a fresh machine it first installs what the build needs
# (scripts/install-deps.sh --build: libclang, for the xdelta3 crate's
# bindgen), and says nothing when that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build
cargo build --release -q -p trees-cli
silo=$PWD/target/release/silo
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
inputs=(testdata/files/* testdata/example/*.tar testdata/example/*.tar.gz)

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
echo "--- summary (bytes; files: ${#inputs[@]}, families: demo-1.x, widget-1.x, gadget-1.x.tar.gz)"
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

# The compressed family alone: git finds nothing to share in gzip'd bytes;
# the silo sees through the gzip. Our silo of the downloads against our
# silo of the same releases uncompressed (gzip -dc), and git's pack of the
# downloads.
gz=(testdata/example/gadget-*.tar.gz)
mkdir "$dir/tars"
for f in "${gz[@]}"; do gzip -dc "$f" > "$dir/tars/$(basename "$f" .gz)"; done
one_silo() { # NAME FILES...: repacked silo's pack/ bytes
  local s="$dir/$1.silo"; shift
  $silo init "$s" >/dev/null && $silo add "$s" "$@" >/dev/null && $silo repack "$s" >/dev/null
  bytes_of "$s/pack" "*"
}
gz_raw=$(cat "${gz[@]}" | wc -c)
gz_silo=$(one_silo gz "${gz[@]}")
tar_silo=$(one_silo tars "$dir"/tars/*.tar)
echo "--- gadget-1.x.tar.gz alone (${#gz[@]} downloads)"
printf '%-54s %10s
' "the downloads (.tar.gz)" "$gz_raw"
printf '%-54s %10s  %s the downloads\n' "silo of the downloads, repacked (split)" "$gz_silo" "$(ratio "$gz_silo" "$gz_raw")"
printf '%-54s %10s\n' "silo of the same releases as tars (gzip -dc)" "$tar_silo"
printf '%-54s %10s\n' "silo of the downloads / silo of the tars" "$(ratio "$gz_silo" "$tar_silo")"
for f in "${gz[@]}"; do
  id=$(git hash-object "$f" 2>/dev/null || $silo add "$dir/gz.silo" "$f" | cut -d' ' -f1)
  $silo cat "$dir/gz.silo" "$id" | cmp -s - "$f" || { echo "example: $f does not read back exactly" >&2; exit 1; }
done
echo "every download reads back byte for byte"
