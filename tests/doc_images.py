"""Regenerate the review images in docs/images/: the report's first screen at 1280x800 and its first
printed A4 page, rendered by Debian's Chromium through playwright (as tests/report/test_report_browser.py
does) and, for the page, rasterised by poppler's `pdftoppm` (Debian package poppler-utils).

    python tests/doc_images.py results/<run-id>.json   # a real run
    python tests/doc_images.py                          # the test fixture (invented figures)

The images are palette-quantised PNGs (Pillow, a matplotlib dependency) to keep the repository
small. Nothing here runs in `make test`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from harness.analysis import decision  # noqa: E402
from harness.report.html import write_report  # noqa: E402
from harness.store.results import load_run  # noqa: E402

IMAGES = ROOT / "docs" / "images"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _small_png(source: Path, target: Path) -> None:
    image = Image.open(source).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    image.save(target, optimize=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", help="a results file (default: the test fixture)")
    parser.add_argument("--team", help="team scores, as for `harness report --team`")
    args = parser.parse_args(argv)
    if args.results:
        run = load_run(Path(args.results))
    else:
        from brief_fixtures import full_like_run

        run = full_like_run()
    team = decision.load_team_config(Path(args.team)) if args.team else None
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        print("doc_images: pdftoppm not found (apt-get install poppler-utils)", file=sys.stderr)
        return 2
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        path = write_report(run, folder, team=team)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(path.resolve().as_uri())
            page.screenshot(path=str(folder / "screen.png"))
            page.emulate_media(media="print")
            page.pdf(
                path=str(folder / "report.pdf"), prefer_css_page_size=True, print_background=True
            )
            browser.close()
        subprocess.run(
            [pdftoppm, "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile",
             str(folder / "report.pdf"), str(folder / "page1")],
            check=True,
        )  # fmt: skip
        _small_png(folder / "screen.png", IMAGES / "brief-1280x800.png")
        _small_png(folder / "page1.png", IMAGES / "brief-print-page1.png")
    for name in ("brief-1280x800.png", "brief-print-page1.png"):
        print(f"wrote {IMAGES / name} from run {run.run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
