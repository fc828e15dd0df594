#!/usr/bin/env bash
# One-time (and idempotent) set-up of a Debian machine for the kiosk: system packages and a
# virtualenv in .venv with the project installed editable. Safe to run again: every step is
# skipped when it is already done, so `make test` stays quick on a warm machine.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  # Kivy's manylinux wheel bundles SDL2; it only needs the system GL stack and an X server.
  xvfb xauth libgl1 libgl1-mesa-dri libegl1 libegl-mesa0 libmtdev1
  # PC/SC: the daemon, the virtual reader used by the tests and the demo, and headers for pyscard.
  pcscd vsmartcard-vpcd libpcsclite-dev pkg-config gcc
  # A font with accented letters for the reference server's generated product pictures.
  fonts-dejavu-core
)

PYTHON=${PYTHON:-python3}
# Debian's own python3 lacks venv and the headers pyscard compiles against; a pyenv or
# self-built Python has both, so ask the interpreter rather than assume.
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then DEB_PACKAGES+=(python3-venv); fi
include=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$include/Python.h" ]; then DEB_PACKAGES+=(python3-dev); fi

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the dependency list changed since the last successful install.
stamp=.venv/.installed-$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
