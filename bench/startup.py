"""Cold start (issue 3): process start to the first frame of the attract screen, catalog cached.

    .venv/bin/python bench/startup.py --catalog-dir DIR [--runs 3]

DIR holds a synced `catalog.sqlite` (e.g. 100,000 articles, as `bench/catalog.py` makes). Each run is
a fresh Python process that builds the app the way the kiosk does (`kiosk.launch.prepare_kivy`, then
`KioskServices` + `KioskApp` on asyncio, in a real 1080x1920 Kivy window) with the central API
unreachable (a closed loopback port), and measures:

  from spawn     the parent's `time.perf_counter()` just before it starts the child (interpreter
                 start-up and every import included; CLOCK_MONOTONIC is shared between processes)
  from the top   `time.perf_counter()` at the very top of the child, before any import
  to            the first Clock frame after the one in which `app.root.current == "attract"`: by
                 then the attract screen has been drawn and flipped once

and, for information, when the background search warm-up (`CatalogStore`) was over. Without an X
display the whole benchmark re-runs itself under `xvfb-run -a -s "-screen 0 1080x1920x24"`.
Prints a line per run and, last, one JSON line (the median run) for `bench/catalog.py`.
"""

import time

T_TOP = time.perf_counter()  # first thing: nothing of ours or Kivy's is imported yet

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1080x1920x24"]
TIMEOUT_S = 120


def closed_port() -> int:
    """A loopback port nothing listens on: connecting is refused at once, as with a dead server."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the measured child ------------------------------------------------------------------------------


def child(catalog_dir: str, data_dir: str, spawned_at: float) -> dict:
    from kiosk.launch import WindowOptions, prepare_kivy

    prepare_kivy(WindowOptions(fullscreen=False, width=1080, height=1920, lockdown=False, animate=False))

    import asyncio

    from kiosk.config import parse_settings

    settings = parse_settings({
        "api": {"base_url": f"http://127.0.0.1:{closed_port()}", "token": "demo-kiosk-token", "read_timeout_s": 5.0},
        "payment": {"public_key": str(ROOT / "config" / "payment_service_public.pem"), "terminal": "simulated"},
        "catalog": {"directory": catalog_dir, "image_cache": str(Path(data_dir) / "images")},
        "display": {"fullscreen": False, "lockdown": False},
    })

    async def run() -> dict:
        from kivy.clock import Clock

        from kiosk.api import CentralApi
        from kiosk.app import KioskApp
        from kiosk.hardware import open_terminal
        from kiosk.services import KioskServices

        api = CentralApi(settings.api.base_url, settings.api.token.get_secret_value(),
                         read_timeout=settings.api.read_timeout_s)
        terminal = open_terminal("simulated", reader=None, public_key_path=settings.payment_public_key_path)
        services = KioskServices(settings, api, terminal)
        app = KioskApp(services, animate=False)
        marks: dict[str, float] = {}
        drawn = asyncio.Event()

        def on_frame(_dt: float) -> bool | None:
            now = time.perf_counter()
            if "attract_current" in marks:  # the frame that showed it has been drawn and flipped
                marks["attract_drawn"] = now
                drawn.set()
                return False
            if app.root is not None and app.root.current == "attract":
                marks["attract_current"] = now
            return None

        Clock.schedule_interval(on_frame, 0)
        task = asyncio.ensure_future(app.async_run(async_lib="asyncio"))
        try:
            done, _ = await asyncio.wait([task, asyncio.ensure_future(drawn.wait())], timeout=TIMEOUT_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
                raise RuntimeError("the app stopped before showing the attract screen")
            if not drawn.is_set():
                raise RuntimeError(f"no attract screen within {TIMEOUT_S} s")
            warm = await asyncio.to_thread(services.catalog.wait_until_warm, 60)
            marks["warm"] = time.perf_counter() if warm else float("nan")
            status = services.status
            result = {"catalog_loaded": status.catalog_loaded, "products": status.catalog_count,
                      "online": status.online, "screen": app.root.current}
        finally:
            app.stop()
            await asyncio.wait_for(task, 10)
            await services.aclose()
        return {**result, **{k: v for k, v in marks.items()}}

    marks = asyncio.run(run())
    drawn_at = marks["attract_drawn"]
    return {
        "seconds": drawn_at - spawned_at,              # the figure: spawn to the attract screen drawn
        "from_top_s": drawn_at - T_TOP,                # without interpreter start-up
        "interpreter_s": T_TOP - spawned_at,
        "attract_current_s": marks["attract_current"] - spawned_at,
        "warm_s": marks["warm"] - spawned_at,          # background search warm-up over (not waited for)
        "catalog_loaded": marks["catalog_loaded"], "products": marks["products"], "online": marks["online"],
    }


# --- the parent ----------------------------------------------------------------------------------------


def measure(catalog_dir: Path, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="kiosk-startup-") as data_dir:
            env = {**os.environ, "KIVY_HOME": str(Path(data_dir) / "kivy"), "KIVY_NO_ARGS": "1"}
            spawned_at = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--child", str(catalog_dir), data_dir, repr(spawned_at)],
                                 capture_output=True, text=True, cwd=ROOT, env=env, timeout=TIMEOUT_S + 60)
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-4000:])
            raise SystemExit("startup child failed")
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalog-dir", type=Path, help="folder with a synced catalog.sqlite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        catalog_dir, data_dir, spawned_at = options.child
        print(json.dumps(child(catalog_dir, data_dir, float(spawned_at))))
        return
    if options.catalog_dir is None or not (options.catalog_dir / "catalog.sqlite").exists():
        parser.error("--catalog-dir must hold a catalog.sqlite")
    if not os.environ.get("DISPLAY"):
        if shutil.which("xvfb-run") is None:
            raise SystemExit("no DISPLAY and no xvfb-run: install xvfb (see README)")
        argv = [sys.executable, __file__, "--catalog-dir", str(options.catalog_dir), "--runs", str(options.runs)]
        raise SystemExit(subprocess.run([*XVFB, *argv], cwd=ROOT).returncode)

    results = measure(options.catalog_dir.resolve(), options.runs)
    for r in results:
        print(f"attract screen drawn {r['seconds']:.2f} s after spawn ({r['from_top_s']:.2f} s from the top of the "
              f"script; interpreter {r['interpreter_s'] * 1000:.0f} ms); {r['products']:,} articles cached, "
              f"online={r['online']}; search warm {r['warm_s']:.2f} s after spawn", flush=True)
    median = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
    summary = {**median, "runs": [r["seconds"] for r in results],
               "median_s": statistics.median(r["seconds"] for r in results)}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
