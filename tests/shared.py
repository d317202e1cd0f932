"""Where the shared samples are, and what a missing one means: a skip on a developer's machine without them, a
failure under CI=true (a test that skips in CI proves nothing)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _candidates() -> list[Path]:
    found = [ROOT.parent / "shared" / "samples"]
    if os.environ.get("EDOSSIER_SAMPLES"):
        found.insert(0, Path(os.environ["EDOSSIER_SAMPLES"]))
    try:     # a clone made elsewhere (a temporary folder) finds them beside the checkout it was cloned from
        origin = subprocess.run(["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        origin = ""
    if origin and Path(origin).is_dir():
        found.append(Path(origin).resolve().parent / "shared" / "samples")
    return found


SAMPLES = next((p for p in _candidates() if p.is_dir()), ROOT.parent / "shared" / "samples")


def missing(what: str, where: str = "the shared samples live beside the project in ../shared/samples") -> None:
    """Stop this test for want of `what` (a sample, a tool, a server): skipped locally, failed in CI."""
    message = f"{what} not found: {where}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI needs it)")
    pytest.skip(message)


def poison_page() -> bytes:
    """A PNG page tesseract cannot finish within a short limit: 60 × 60 inches at 150 dpi of specks and strokes (it
    takes well over a minute, an ordinary page about a second)."""
    import io
    import random
    from PIL import Image, ImageDraw
    rng = random.Random(3)
    tile = Image.new("L", (1000, 1000), 255)
    draw = ImageDraw.Draw(tile)
    for _ in range(6000):
        x, y = rng.randrange(1000), rng.randrange(1000)
        draw.line((x, y, x + rng.randrange(-12, 12), y + rng.randrange(-12, 12)), fill=0, width=2)
    image = Image.new("L", (9000, 9000), 255)
    for left in range(0, 9000, 1000):
        for top in range(0, 9000, 1000):
            image.paste(tile, (left, top))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(150, 150))
    return buffer.getvalue()


CHROMIUM = Path("/usr/bin/chromium")                       # Debian's: browsers cannot be downloaded here
SHOTS = Path(__file__).resolve().parent / "output" / "screenshots"   # screenshots the browser tests save


def launch_chromium(playwright):
    """Debian's chromium through Playwright (missing: skipped locally, failed under CI)."""
    if not CHROMIUM.exists():
        missing("Chromium", "scripts/setup.sh --test installs Debian's chromium")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
