"""Screenshots of browser tests, saved as artifacts: `$PUBLICPAY_ARTIFACTS_DIR` (default
`artifacts/` at the repository root) / e2e / <area> / <name>-<width>x<height>.png."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PHONE = (375, 667)
DESKTOP = (1366, 768)
KIOSK = (1080, 1920)


def artifacts_dir(area: str) -> Path:
    base = Path(os.environ.get("PUBLICPAY_ARTIFACTS_DIR", ROOT / "artifacts"))
    folder = base / "e2e" / area
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screens(
    page: Any, area: str, name: str, sizes: tuple[tuple[int, int], ...] = (PHONE, DESKTOP)
) -> list[Path]:
    """The page at each size (full page), then the first size restored; the saved files."""
    saved = []
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        path = artifacts_dir(area) / f"{name}-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=True)
        saved.append(path)
    width, height = sizes[0]
    page.set_viewport_size({"width": width, "height": height})
    return saved
