#!/usr/bin/env bash
# Installs every Debian package that building and testing egmla-serve needs, then the pinned
# npm packages of the OpenAI-client test (tests/e2e/openai) into $BUILD_DIR/node/openai-client.
# Idempotent: packages already present are skipped. Uses sudo when not root.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-build}"  # the Makefile's; relative to the repository root
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac

# `npm ci` of tests/e2e/openai/package-lock.json into $BUILD_DIR/node/openai-client (never
# globally), only when that folder lacks it or the lock changed since the last install.
install_openai_client() {
  local src="$ROOT/tests/e2e/openai" dest="$BUILD_DIR/node/openai-client"
  if [ -f "$dest/node_modules/openai/package.json" ] &&
     cmp -s "$src/package-lock.json" "$dest/.installed-package-lock.json"; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "setup: npm (Node.js 20 or later) is needed for the OpenAI-client test; install it" >&2
    exit 1
  fi
  echo "setup: npm ci of tests/e2e/openai into $dest"
  mkdir -p "$dest"
  rm -f "$dest/.installed-package-lock.json"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$src/package-lock.json" "$dest/.installed-package-lock.json"
}

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libabsl-dev nlohmann-json3-dev libopenblas-dev
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  prometheus-cpp-dev libspdlog-dev libfmt-dev
  libpcre2-dev libsentencepiece-dev sentencepiece
  python3-grpcio python3-protobuf prometheus
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-numpy
  bible-kjv
  clang-format clang libclang-rt-14-dev  # dev-only: make format, make fuzz
  python3-matplotlib
  nginx debootstrap buildah podman python3-yaml
  libboost-dev libboost-context-dev libssl-dev wamerican
)

# Node.js 20+ and npm for the openai client test: this machine image has them (NodeSource);
# elsewhere Debian's.
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(nodejs npm); fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  install_openai_client
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_openai_client
