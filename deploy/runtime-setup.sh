#!/bin/sh
# The runtime stage of deploy/Dockerfile and deploy/Dockerfile.prebuilt: installs the packages
# /opt/egmla/runtime-packages.txt names (written by deploy/runtime-packages.sh where the
# binaries were built) and creates the unprivileged user the server runs as.
set -eu

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2046
apt-get install -y -q --no-install-recommends $(cat /opt/egmla/runtime-packages.txt)
apt-get clean
rm -rf /var/lib/apt/lists/*

# A fixed uid/gid (10001) outside the ranges base images use (Ubuntu 24.04 has "ubuntu" at
# 1000), so Kubernetes' runAsUser / fsGroup can name it.
groupadd --system --gid 10001 egmla
useradd --system --uid 10001 --gid 10001 --home-dir /opt/egmla --no-create-home \
  --shell /usr/sbin/nologin egmla
chown -R root:root /opt/egmla
chmod -R a+rX /opt/egmla
ln -sf /opt/egmla/bin/egmla-server /opt/egmla/bin/egmla /usr/local/bin/

# The image must start: every library the binaries need is there.
# shellcheck disable=SC2046
if ldd /opt/egmla/bin/egmla-server /opt/egmla/bin/egmla $(ls /opt/egmla/lib/*.so 2> /dev/null) \
    | grep 'not found' \
    | grep -v -e 'libcuda\.so' -e 'libnvidia-ml\.so'; then
  echo "runtime-setup: libraries missing" >&2
  exit 1
fi
