#!/usr/bin/env bash
# The demo on embedded defaults. With a screen: the kiosk opens in a window. Without one: the
# autopilot plays a shopper journey under Xvfb and writes a screenshot of every screen.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec .venv/bin/kiosk demo "$@"
fi
shots=var/demo/screenshots
echo "No screen found: playing the shopper journey under Xvfb, screenshots into $shots/"
exec xvfb-run -a -s "-screen 0 1080x1920x24" .venv/bin/kiosk demo --autopilot --screenshots "$shots" "$@"
