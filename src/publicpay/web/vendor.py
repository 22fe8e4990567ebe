"""Third-party web assets (Swagger UI; Apache ECharts for the statistics charts), served by the
app itself.

One mechanism for every vendored asset: the package is listed in the repository's
`package.json`, pinned in the committed `package-lock.json`, installed by `scripts/setup.sh`
(`npm ci` into the git-ignored `node_modules/`), added to `PACKAGES` below, and then served at
`/static/vendor/<package>/<file>` — same origin, so the Content-Security-Policy allows it and
nothing is fetched from a CDN. Only the packages named here are served (not their transitive
dependencies or anything else in the folder).

Where the folder is: `PUBLICPAY_VENDOR_DIR` (production installs copy `node_modules/` there),
else the `node_modules/` of the source checkout, else `./node_modules`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

PACKAGES = ("swagger-ui-dist", "echarts")
PREFIX = "/static/vendor"
log = logging.getLogger("publicpay.web")


def vendor_dir(configured: str = "") -> Path:
    if configured:
        return Path(configured)
    checkout = Path(__file__).resolve().parents[3] / "node_modules"  # src/publicpay/web → repo
    return checkout if checkout.is_dir() else Path("node_modules").resolve()


def asset_url(package: str, file: str) -> str:
    assert package in PACKAGES, package
    return f"{PREFIX}/{package}/{file}"


def install(app: FastAPI, directory: Path) -> None:
    """Mount each package (before the app's own `/static`, which would shadow them)."""
    for package in PACKAGES:
        folder = directory / package
        if not folder.is_dir():
            log.warning(
                "web asset package %s is missing in %s (run scripts/setup.sh)", package, directory
            )
        app.mount(
            f"{PREFIX}/{package}",
            StaticFiles(directory=folder, check_dir=False),
            name=f"vendor-{package}",
        )
