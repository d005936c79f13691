#!/usr/bin/env bash
# Installs every Debian package that building and testing egmla-serve needs.
# Idempotent: packages already present are skipped. Uses sudo when not root.
set -euo pipefail

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
  clang-format
  python3-matplotlib
  nginx debootstrap buildah podman python3-yaml
  libboost-dev libboost-context-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
