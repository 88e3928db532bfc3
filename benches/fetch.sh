# shellcheck shell=bash
# Fetching real releases, shared by benches/gzip.sh and benches/nightly.sh
# (sourced). Releases are fetched with the ordinary package clients and
# kept byte for byte as downloaded (nothing re-tarred):
#   pypi    sdists, `pip download --no-deps --no-binary :all: --no-build-isolation`
#   crates  .crate files, from a throwaway project's `cargo fetch`
#           (copied from $CARGO_HOME/registry/cache/*/)
#   npm     `npm pack NAME@VER` (checked against the registry's dist.shasum)
# into a cache directory, so that a second run fetches nothing.
#
# The sourcing script sets, before calling any of these:
#   fetch_name   its name, for messages (e.g. gzip.sh)
#   cache        the download cache directory
# then calls `families ECO SPEC` once per ecosystem (filling all_families)
# and `fetch_all`; `cached ECO NAME VERSION` says where a download lives.

# One family per ";"-separated part: "NAME V1 V2 ..." → "eco NAME V1 V2 ..." in all_families.
all_families=()
families() { # eco spec
  local eco=$1 part
  local -a parts words
  IFS=';' read -r -a parts <<< "$2"
  for part in "${parts[@]}"; do
    read -r -a words <<< "$part"
    [ ${#words[@]} -eq 0 ] && continue
    if [ ${#words[@]} -lt 3 ]; then
      echo "${fetch_name:-fetch.sh}: family \"$part\" ($eco) needs a name and at least two versions" >&2
      exit 2
    fi
    all_families+=("$eco ${words[*]}")
  done
}

# Where a download lives in the cache, by ecosystem.
cached() { # eco name version
  local safe=${2//@/}
  safe=${safe//\//-}
  case $1 in
    pypi) echo "${cache:?}/pypi/$safe/$safe-$3.tar.gz" ;;
    crates) echo "${cache:?}/crates/$safe/$safe-$3.crate" ;;
    npm) echo "${cache:?}/npm/$safe/$safe-$3.tgz" ;;
  esac
}

fetch_pypi() { # name version dst
  local t f
  t=$(mktemp -d)
  # pip prepares the sdist's metadata after downloading it: without build
  # isolation that needs the package's build backend here (setuptools with
  # bdist_wheel, ...); when that fails, again with isolation (pip fetches
  # the build requirements into a temporary environment).
  if ! pip download -q --no-deps --no-binary :all: --no-build-isolation -d "$t" "$1==$2" > "$t.log" 2>&1; then
    echo "  (pip without build isolation failed: $(grep -i 'error:' "$t.log" | grep -v -e subprocess-exited -e generation-failed | tail -n 1 | sed 's/^ *//'); again with isolation)" >&2
    rm -rf "$t" && mkdir "$t"
    if ! pip download -q --no-deps --no-binary :all: -d "$t" "$1==$2" >&2; then
      echo "${fetch_name:-fetch.sh}: pip download $1==$2 failed (does that version exist?)" >&2
      rm -rf "$t" "$t.log"
      exit 1
    fi
  fi
  rm -f "$t.log"
  mapfile -t got < <(find "$t" -maxdepth 1 -type f)
  f=${got[0]:-}
  if [ ${#got[@]} -ne 1 ] || [[ $f != *.tar.gz ]]; then
    echo "${fetch_name:-fetch.sh}: pip download $1==$2 gave '${got[*]}', not one .tar.gz sdist" >&2
    rm -rf "$t"
    exit 1
  fi
  mv "$f" "$3"
  rm -rf "$t"
}
fetch_crate() { # name version dst
  local p src
  p=$(mktemp -d)
  mkdir -p "$p/src"
  printf '[workspace]\n[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\n%s = "=%s"\n' "$1" "$2" > "$p/Cargo.toml"
  : > "$p/src/lib.rs"
  if ! cargo fetch -q --manifest-path "$p/Cargo.toml" >&2; then
    echo "${fetch_name:-fetch.sh}: cargo fetch of crate $1 $2 failed (does that version exist?)" >&2
    rm -rf "$p"
    exit 1
  fi
  rm -rf "$p"
  src=$(find "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/ -mindepth 2 -maxdepth 2 -name "$1-$2.crate" -print -quit)
  [ -n "$src" ] || { echo "${fetch_name:-fetch.sh}: cargo fetch left no $1-$2.crate in the registry cache" >&2; exit 1; }
  cp "$src" "$3"
}
fetch_npm() { # name version dst
  local t want have
  t=$(mktemp -d)
  if ! (cd "$t" && npm pack -q "$1@$2" >/dev/null); then
    echo "${fetch_name:-fetch.sh}: npm pack $1@$2 failed (does that version exist?)" >&2
    rm -rf "$t"
    exit 1
  fi
  mapfile -t got < <(find "$t" -maxdepth 1 -type f -name '*.tgz')
  [ ${#got[@]} -eq 1 ] || { echo "${fetch_name:-fetch.sh}: npm pack $1@$2 gave '${got[*]}'" >&2; rm -rf "$t"; exit 1; }
  # npm pack of a registry spec writes the published tarball as it is; check.
  want=$(npm view "$1@$2" dist.shasum)
  have=$(sha1sum "${got[0]}" | cut -d' ' -f1)
  if [ "$want" != "$have" ]; then
    echo "${fetch_name:-fetch.sh}: npm pack $1@$2 has sha1 $have, the registry says $want: not the published tarball" >&2
    rm -rf "$t"
    exit 1
  fi
  mv "${got[0]}" "$3"
  rm -rf "$t"
}

fetch_need() { command -v "$1" >/dev/null || { echo "${fetch_name:-fetch.sh}: fetching needs $1" >&2; exit 2; }; }

# Fetches every release of all_families that the cache lacks, then lists the cache's.
fetch_all() {
  local line eco name versions v dst
  for line in "${all_families[@]}"; do
    read -r eco name versions <<< "$line"
    for v in $versions; do
      dst=$(cached "$eco" "$name" "$v")
      [ -s "$dst" ] && continue
      echo "fetching $name $v ($eco)" >&2
      mkdir -p "$(dirname "$dst")"
      case $eco in
        pypi) fetch_need pip; fetch_pypi "$name" "$v" "$dst.part" ;;
        crates) fetch_need cargo; fetch_crate "$name" "$v" "$dst.part" ;;
        npm) fetch_need npm; fetch_npm "$name" "$v" "$dst.part" ;;
      esac
      gzip -t "$dst.part" || { echo "${fetch_name:-fetch.sh}: $name $v ($eco) is not a valid gzip file" >&2; exit 1; }
      mv "$dst.part" "$dst"
    done
  done
  echo "cache $cache:" >&2
  for line in "${all_families[@]}"; do
    read -r eco name versions <<< "$line"
    for v in $versions; do
      dst=$(cached "$eco" "$name" "$v")
      printf '  %-7s %-32s %10d bytes gz, %10d bytes content\n' "$eco" "$(basename "$dst")" \
        "$(stat -c %s "$dst")" "$(gzip -dc "$dst" | wc -c)" >&2
    done
  done
}
