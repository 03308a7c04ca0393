#!/usr/bin/env bash
# Set up snaporacle on Debian 12 as root: system packages (mmdebstrap for scripts/with-debian.sh),
# the libvirt-qemu user, and a virtual environment in .venv with snaporacle (editable), its test
# tools and libvirt-python.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(python3 python3-venv python3-dev gcc pkg-config libvirt-dev libvirt-daemon
          libvirt-daemon-driver-qemu qemu-utils qemu-system-x86
          chromium  # the report's browser test
          mmdebstrap)  # scripts/with-debian.sh builds other Debian releases' roots
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
getent passwd libvirt-qemu >/dev/null \
    || useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test,libvirt]'
