"""Screenshots of a `dq view` site in headless Chromium (for the README), one PNG per route.

    python -m harness_ext.view.shots SITE_DIR OUT_DIR NAME=ROUTE [NAME=ROUTE ...]

e.g. ``leaderboard='#/leaderboard?task=gsm8k_dq'`` writes OUT_DIR/leaderboard.png. Needs
Playwright for Python (the test extra) and Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness_ext.errors import DQError

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshots(site: Path, out: Path, routes: dict[str, str], width: int = 1600, height: int = 820) -> list[Path]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise DQError("screenshots need Playwright: pip install -e '.[test]'") from None
    if not (site / "index.html").exists():
        raise DQError(f"{site}: no index.html; write the site with `dq view ... --out {site}` first")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        for name, route in routes.items():
            page.goto(f"{site.resolve().as_uri()}/index.html{route}")
            page.wait_for_selector("body[data-rendered]", state="attached")
            page.screenshot(path=str(out / f"{name}.png"))
            written.append(out / f"{name}.png")
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or not all("=" in a for a in argv[2:]):
        print(__doc__, file=sys.stderr)
        return 2
    routes = dict(a.split("=", 1) for a in argv[2:])
    for f in screenshots(Path(argv[0]), Path(argv[1]), routes):
        print(f)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
