#!/usr/bin/env bash
# Every test: unit, contract (real reference server on loopback), hardware (real pcscd + the vpcd
# virtual reader + our emulated cards) and UI (the real Kivy window under Xvfb).
# pcscd is started and stopped around pytest, not inside it (see shared/PLATFORM.md).
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/pcscd.sh start || exit 1
trap 'scripts/pcscd.sh stop' EXIT

export KIVY_NO_ARGS=1 KIVY_LOG_MODE=PYTHON
# Two pytest-xdist workers, one per core of the 2-core machines we test on (TEST_WORKERS=0: one
# process, e.g. to debug). The pcscd tests share one virtual reader: tests/support/parallel.py keeps
# them on one worker.
set -- -n "${TEST_WORKERS:-2}" "$@"
# The X screen is square so that a 1080x1920 portrait window and a 1920x1080 landscape one both fit
# (tests/test_ui_landscape.py turns the window round).
if [ -n "${DISPLAY:-}" ]; then
  .venv/bin/python -m pytest "$@"
else
  xvfb-run -a -s "-screen 0 1920x1920x24" .venv/bin/python -m pytest "$@"
fi
