"""Headless Chromium (Debian's `chromium`) for the HTML report: pages read and photographed.

A few launches for many pages: each launch loads one harness page that holds every report
page in an iframe. `read_pages` reads what each page shows (its rendered text, its alert
rows) and every console message Chromium logged; `screenshot_grid` photographs them side
by side. `main` remakes docs/report.png, the README's picture of a report:

    .venv/bin/python tests/browser.py
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# As root Chromium needs --no-sandbox; without the background services off it waits
# for the network this machine does not have.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--enable-logging=stderr",
    "--v=0",
)
TIMEOUT_S = 120
CONSOLE = re.compile(r":CONSOLE(?:[:(]\d+\)?)?\] (?P<message>.*)$")

# The harness's own script: it reads the report pages (which have none), after all of them
# loaded, and leaves what it read as JSON in the page for --dump-dom.
_READER = """
window.addEventListener("load", () => {
  const pages = [];
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument;
    const rows = [...doc.querySelectorAll("tr[data-alert]")].map(
      (tr) => [...tr.cells].map((td) => td.innerText.trim()));
    pages.push({
      src: frame.getAttribute("src"),
      title: doc.title,
      text: doc.body.innerText,
      alerts: rows,
      rects: doc.querySelectorAll("svg rect").length,
      loaded: [...doc.querySelectorAll("[src], link[href]")].map(
        (e) => e.getAttribute("src") || e.getAttribute("href")),
    });
  }
  document.getElementById("out").textContent = JSON.stringify(pages);
});
"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("needs Debian's chromium: run scripts/setup.sh")
    return found


def run_chromium(args: Sequence[str], url: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on `url` with a profile of its own, thrown away after."""
    with tempfile.TemporaryDirectory(prefix="logwatch-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, url],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )


def console_messages(stderr: str) -> list[str]:
    """Every console message Chromium logged (errors, CSP refusals, anything a page says)."""
    return [m.group("message") for line in stderr.splitlines() if (m := CONSOLE.search(line))]


@dataclass(frozen=True, slots=True)
class PageRead:
    """What one page shows in the browser."""

    src: str
    title: str
    text: str
    alerts: list[list[str]]
    rects: int
    loaded: list[str]


def read_pages(pages: Sequence[Path], work: Path) -> tuple[list[PageRead], list[str]]:
    """Loads every page in one Chromium run: (what each shows, the console messages)."""
    frames = "".join(f'<iframe src="{p.resolve().as_uri()}"></iframe>' for p in pages)
    harness = work / "read-harness.html"
    harness.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>harness</title></head>'
        f'<body>{frames}<pre id="out"></pre><script>{_READER}</script></body></html>'
    )
    done = run_chromium(
        ["--allow-file-access-from-files", "--dump-dom"], harness.resolve().as_uri()
    )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    m = re.search(r'<pre id="out">(.*?)</pre>', done.stdout, re.S)
    if m is None or not m.group(1):
        raise RuntimeError(f"the harness read nothing: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    raw = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    found: list[dict[str, Any]] = json.loads(raw)
    return [PageRead(**page) for page in found], console_messages(done.stderr)


def screenshot_grid(
    pages: Sequence[Path], png: Path, *, cell: tuple[int, int] = (900, 1100), columns: int = 4
) -> list[tuple[int, int, int, int]]:
    """One screenshot of every page side by side, `columns` to a row, each in a `cell`
    (width, height) of its own; returns each page's box (left, top, right, bottom)."""
    w, h = cell
    rows = -(-len(pages) // columns)
    frames = "".join(
        f'<iframe src="{p.resolve().as_uri()}" width="{w}" height="{h}"></iframe>' for p in pages
    )
    harness = png.with_suffix(".grid.html")
    harness.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        f"body{{margin:0;display:grid;grid-template-columns:repeat({columns},{w}px)}}"
        "iframe{border:0;display:block}</style></head>"
        f"<body>{frames}</body></html>"
    )
    size = f"--window-size={w * columns},{h * rows}"
    done = run_chromium([f"--screenshot={png}", size], harness.resolve().as_uri())
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"no screenshot ({done.returncode}): {done.stderr[-2000:]}")
    return [((i % columns) * w, (i // columns) * h, (i % columns + 1) * w, (i // columns + 1) * h)
            for i in range(len(pages))]  # fmt: skip


def screenshot(page: Path, png: Path, size: tuple[int, int]) -> None:
    """A screenshot of `page` in a window of `size` (width, height)."""
    done = run_chromium(
        [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}"], page.resolve().as_uri()
    )
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"no screenshot ({done.returncode}): {done.stderr[-2000:]}")


def main() -> None:
    """docs/report.png: the report of a simulated split-brain next to a stall."""
    from typer.testing import CliRunner

    from logwatch.cli import app

    root = Path(__file__).resolve().parent.parent
    env = {"ZIPNET_ROUND_PERIOD": None, "ZIPNET_ROUND_DEADLINE": None}
    with tempfile.TemporaryDirectory() as work:
        capture = Path(work) / "drill.export"
        made = CliRunner().invoke(
            app,
            ["simulate", "split@acme-mainnet", "stall@preview-alpha", "--minutes", "8"],
            env=env,
        )
        capture.write_bytes(made.stdout_bytes)
        page = Path(work) / "report.html"
        html = CliRunner().invoke(app, ["replay", str(capture), "--report", "-o", "html"], env=env)
        page.write_text(html.stdout)
        screenshot(page, root / "docs" / "report.png", (1100, 1250))
    print(f"wrote {root / 'docs' / 'report.png'}", file=sys.stderr)


if __name__ == "__main__":
    main()
