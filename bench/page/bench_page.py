"""Watch-floor page benchmark: the real page in Debian's headless chromium, signed in to the
real API over a real (embedded) PostgreSQL holding N vessels, panned and zoomed the way an
officer does (one mouse move or wheel notch per frame). Prints, for the fleet and for the
baseline measured in the same run (the same page over an empty sea: basemap only):

- time to first draw: sign-in click to the first frame after the COP is on the map;
- frame times while panning and zooming: the gaps between requestAnimationFrame callbacks
  (16.7 ms at 60 Hz when the page keeps up), p50 / p99 / max, and frames over 50 ms;
- the page's own draw time per frame (``window.lookout.lastDrawMs``);
- JavaScript heap after a garbage collection (Chrome DevTools Protocol).

Run by hand, never part of the test suite:

    .venv/bin/python bench/page/bench_page.py [--vessels 10000] [--pan-s 12] [--zoom-s 6]

PostgreSQL starts first, unpinned; then this process is pinned to core 1, and chromium,
started after, inherits the pin (the API server in this process is idle while frames are
measured: the page fetched the COP before).
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bus.memory import MemoryBus
from schemas.topics import Topic
from store.api_keys import Role, create_key
from store.db import connect
from store.embedded import EmbeddedPostgres
from store.migrate import migrate
from store.settings import StoreSettings
from tests.api.support import serve_api
from tests.support.browser import chromium
from tests.support.fleet import fill_fleet

console = Console(width=170)

# One synthetic input event per animation frame, recording the gap since the last frame
# and the page's draw time; the drag runs round a circle so the view stays on the region.
_DRIVE = """
async ([mode, seconds]) => {
  const canvas = document.getElementById("map");
  const box = canvas.getBoundingClientRect();
  const cx = box.left + box.width / 2, cy = box.top + box.height / 2;
  const gaps = [], draws = [];
  const fire = (type, x, y, extra) => canvas.dispatchEvent(new (type === "wheel" ? WheelEvent
    : MouseEvent)(type, { clientX: x, clientY: y, bubbles: true, cancelable: true, ...extra }));
  if (mode === "pan") fire("mousedown", cx + 150, cy);
  const end = performance.now() + seconds * 1000;
  let last = await new Promise(requestAnimationFrame), frame = 0;
  while (last < end) {
    frame += 1;
    if (mode === "pan") {
      const a = (frame / 120) * 2 * Math.PI;
      fire("mousemove", cx + 150 * Math.cos(a), cy + 150 * Math.sin(a));
    } else {
      fire("wheel", cx, cy, { deltaY: Math.floor(frame / 12) % 2 ? 100 : -100 });
    }
    const now = await new Promise(requestAnimationFrame);
    gaps.push(now - last);
    draws.push(window.lookout.lastDrawMs);
    last = now;
  }
  if (mode === "pan") fire("mouseup", cx + 150, cy);
  return { gaps, draws };
}
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure_page(
    browser: Any, base_url: str, key: str, vessels: int, pan_s: float, zoom_s: float
) -> dict[str, Any]:
    page = await browser.new_page(viewport={"width": 1400, "height": 850})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Performance.enable")
    try:
        await page.goto(base_url + "/")
        await page.fill("#key", key)
        started = await page.evaluate("performance.now()")
        await page.click("#login-form button[type=submit]")
        await page.wait_for_function(
            f"window.lookout.live === true && window.lookout.vesselCount === {vessels}",
            timeout=120_000,
        )
        # Two frames on: the frame that drew the COP has been painted.
        drawn = await page.evaluate(
            "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )
        await cdp.send("HeapProfiler.collectGarbage")
        answer = await cdp.send("Performance.getMetrics")
        metrics = {m["name"]: m["value"] for m in answer["metrics"]}
        pan = await page.evaluate(_DRIVE, ["pan", pan_s])
        zoom = await page.evaluate(_DRIVE, ["zoom", zoom_s])
        if errors:
            raise RuntimeError(f"page errors: {errors}")
        return {
            "first_draw_ms": drawn - started,
            "heap_mb": metrics["JSHeapUsedSize"] / 1e6,
            "pan": pan,
            "zoom": zoom,
        }
    finally:
        await page.close()


def rows(label: str, result: dict[str, Any]) -> list[list[str]]:
    out = []
    for phase in ("pan", "zoom"):
        gaps, draws = result[phase]["gaps"], result[phase]["draws"]
        out.append(
            [
                label,
                phase,
                str(len(gaps)),
                f"{statistics.median(gaps):.1f}",
                f"{percentile(gaps, 0.99):.1f}",
                f"{max(gaps):.1f}",
                str(sum(1 for g in gaps if g > 50)),
                f"{statistics.median(draws):.1f}",
                f"{percentile(draws, 0.99):.1f}",
                f"{result['first_draw_ms']:.0f}",
                f"{result['heap_mb']:.1f}",
            ]
        )
    return out


async def run(vessels: int, pan_s: float, zoom_s: float) -> None:
    with tempfile.TemporaryDirectory(prefix="lookout-bench-page-") as folder:
        os.chmod(folder, 0o755)
        server = EmbeddedPostgres(Path(folder) / "pg")
        url = server.start()
        os.sched_setaffinity(0, {1})  # after PostgreSQL started: it stays unpinned
        try:
            async with await connect(url) as conn:
                await migrate(conn, StoreSettings(database_url=url))
                key = (await create_key(conn, "BENCH", Role.WATCH)).secret
            bus = MemoryBus(source="/bench/page")
            await bus.start()
            await bus.ensure_topics(list(Topic))
            table = Table(
                "map",
                "phase",
                "frames",
                "frame p50 ms",
                "frame p99 ms",
                "frame max ms",
                "> 50 ms",
                "draw p50 ms",
                "draw p99 ms",
                "first draw ms",
                "JS heap MB",
                title=f"watch-floor page, headless chromium, 1400x850, pan {pan_s} s, "
                f"zoom {zoom_s} s",
            )
            try:
                async with serve_api(url, bus=bus) as api, chromium() as browser:
                    baseline = await measure_page(browser, api.base_url, key, 0, pan_s, zoom_s)
                    for row in rows("baseline: basemap only, 0 vessels", baseline):
                        table.add_row(*row)
                    started = time.perf_counter()
                    async with await connect(url) as conn:
                        await fill_fleet(conn, vessels, datetime.now(UTC))
                    console.print(
                        f"{vessels:,} vessels stored in {time.perf_counter() - started:.2f} s"
                    )
                    fleet = await measure_page(browser, api.base_url, key, vessels, pan_s, zoom_s)
                    for row in rows(f"{vessels:,} vessels", fleet):
                        table.add_row(*row)
            finally:
                await bus.stop()
            console.print(table)
        finally:
            server.stop()


def main(
    vessels: int = typer.Option(10_000, help="Vessels on the map."),
    pan_s: float = typer.Option(12.0, help="Seconds of panning (covers one COP refresh)."),
    zoom_s: float = typer.Option(6.0, help="Seconds of zooming in and out."),
) -> None:
    console.print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; "
        "PostgreSQL unpinned, this process and chromium pinned to core 1"
    )
    asyncio.run(run(vessels, pan_s, zoom_s))


if __name__ == "__main__":
    typer.run(main)
