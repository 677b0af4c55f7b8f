#!/usr/bin/env bash
# Installs what the terminal and its tests need on a fresh Debian machine: apt packages (when run as
# root, or with sudo), then a virtualenv in .venv with the pinned Python packages. Idempotent: a second
# run with unchanged pins does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3-venv python3-dev gcc linux-libc-dev zbar-tools fonts-wqy-zenhei libusb-1.0-0 systemd strace
    # image tests (tests/image/test_image.py builds a small host-arch image: no qemu needed there)
    mmdebstrap mtools dosfstools fdisk e2fsprogs systemd-container zstd)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    echo "setup: installing apt packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -e "$stamp" ]; then
    [ -x .venv/bin/python ] || "$PY" -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24"
    .venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
    rm -f .venv/.installed-*; touch "$stamp"
fi
