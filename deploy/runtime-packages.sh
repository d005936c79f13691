#!/bin/sh
# Prints, one a line, the Debian/Ubuntu packages that hold the shared libraries the given
# binaries load (ldd + dpkg -S). The runtime image installs exactly these with apt, so no
# hand-kept list drifts from what the build linked. Run it where the binaries were built (the
# build stage, or the CI machine for deploy/Dockerfile.prebuilt), on the same distribution
# release as the runtime base.
#
#   deploy/runtime-packages.sh BIN... > runtime-packages.txt
#
# A library ldd cannot find is an error, except the NVIDIA driver's (libcuda, libnvidia-ml: the
# NVIDIA container toolkit mounts them into the container at run time; no image installs them).
# A library no package owns (one built by hand into /usr/local) is an error too.
set -eu

if [ $# -eq 0 ]; then
  echo "usage: $0 BINARY..." >&2
  exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for bin in "$@"; do
  ldd "$bin" > "$tmp/ldd" || { echo "$0: ldd $bin failed" >&2; exit 1; }
  while read -r name arrow path _; do
    [ "$arrow" = "=>" ] || continue
    if [ "$path" = "not" ]; then
      case "$name" in
        libcuda.so*|libnvidia-ml.so*) continue ;;
      esac
      echo "$0: $bin: $name not found" >&2
      exit 1
    fi
    echo "$path" >> "$tmp/libs"
  done < "$tmp/ldd"
done
[ -s "$tmp/libs" ] || exit 0
sort -u "$tmp/libs" -o "$tmp/libs"

# Each library under every name dpkg may list it by: as ldd found it, with symlinks resolved (an
# alternatives link such as libopenblas.so.0), and with /lib and /usr/lib swapped (merged /usr).
while read -r lib; do
  for p in "$lib" "$(readlink -f "$lib")"; do
    echo "$lib $p"
    case "$p" in
      /usr/lib/*) echo "$lib ${p#/usr}" ;;
      /lib/*) echo "$lib /usr$p" ;;
    esac
  done
done < "$tmp/libs" | sort -u > "$tmp/names"

# One dpkg -S for all (it reads its whole file database per call). Lines: "pkg[:arch][, pkg2]: path".
# shellcheck disable=SC2046
dpkg -S $(cut -d' ' -f2 "$tmp/names" | sort -u) 2>/dev/null > "$tmp/owners" || true

awk -v self="$0" '
  FILENAME == ARGV[1] { name_of[$2] = name_of[$2] " " $1; libs[$1] = 1; next }
  {
    i = index($0, ": "); pkgs = substr($0, 1, i - 1); path = substr($0, i + 2)
    if (!(path in name_of)) next
    n = split(name_of[path], owners, " ")
    for (k = 1; k <= n; k++) owned[owners[k]] = 1
    m = split(pkgs, list, ", ")
    for (k = 1; k <= m; k++) { sub(/:[a-z0-9_]+$/, "", list[k]); out[list[k]] = 1 }
  }
  END {
    bad = 0
    for (l in libs) if (!(l in owned)) { print self ": no package owns " l > "/dev/stderr"; bad = 1 }
    if (bad) exit 1
    for (p in out) print p
  }' "$tmp/names" "$tmp/owners" > "$tmp/packages"
sort "$tmp/packages"
