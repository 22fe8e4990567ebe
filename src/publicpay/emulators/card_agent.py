"""A simulated kiosk card-reader agent (`publicpay kiosk-agent --simulate`): the small local
HTTP service a kiosk's browser page talks to for the ID-card reader and the receipt printer
(protocol: docs/kiosk.md). It plays the hardware for the demo and the tests:

- `GET /status` → `{"reader": "ready"|"error", "printer": "ok"|"error"|"offline",
  "paper": "ok"|"low"|"out", "version"}`
- `POST /card/read` → `{"status": "ok", "id_no", "name"}`, `{"status": "no_card"}` or
  `{"status": "unreadable", "message"}`
- `POST /print` (body: the receipt PDF) → `{"status": "printed", "bytes"}`, or 409
  `{"status": "paper_out"|"printer_error", "message"}`

and, for the simulation only, `POST /simulate/card` (`{"id_no", "name"}`, `{"unreadable": true}`
or `{"remove": true}`), `POST /simulate/printer` (`{"printer"?, "paper"?}`) and
`GET /simulate/printed` (what was printed: size, SHA-256, first bytes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VERSION = "sim-agent-1.0"
MAX_PDF = 5_000_000


@dataclass
class SimulatedHardware:
    card: dict[str, str] | None = None  # the card lying on the reader
    unreadable: bool = False
    printer: str = "ok"
    paper: str = "ok"
    printed: list[dict[str, Any]] = field(default_factory=list)


def create_agent(hardware: SimulatedHardware, allow_origin: str = "*") -> Starlette:
    def cors(response: Response, request: Request) -> Response:
        origin = request.headers.get("origin", "")
        allowed = allow_origin in ("*", origin)
        response.headers["Access-Control-Allow-Origin"] = (
            origin if allowed and origin else allow_origin
        )
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Allow-Private-Network"] = "true"  # Chrome's PNA
        response.headers["Access-Control-Expose-Headers"] = "Content-Type"
        response.headers["Cache-Control"] = "no-store"
        return response

    def answer(request: Request, body: dict[str, Any], status: int = 200) -> Response:
        return cors(JSONResponse(body, status_code=status), request)

    async def preflight(request: Request) -> Response:
        return cors(Response(status_code=204), request)

    async def status(request: Request) -> Response:
        body = {"reader": "ready", "printer": hardware.printer, "paper": hardware.paper}
        return answer(request, {**body, "version": VERSION})

    async def read_card(request: Request) -> Response:
        if hardware.unreadable:
            message = "芯片读取失败（卡片损坏或放置不正）"
            return answer(request, {"status": "unreadable", "message": message})
        if hardware.card is None:
            return answer(request, {"status": "no_card"})
        return answer(request, {"status": "ok", **hardware.card})

    async def print_(request: Request) -> Response:
        body = await request.body()
        if not body.startswith(b"%PDF") or len(body) > MAX_PDF:
            return answer(request, {"status": "rejected", "message": "不是PDF文件"}, 400)
        if hardware.printer != "ok":
            return answer(request, {"status": "printer_error", "message": "打印机故障"}, 409)
        if hardware.paper == "out":
            return answer(request, {"status": "paper_out", "message": "打印机缺纸"}, 409)
        digest = hashlib.sha256(body).hexdigest()
        hardware.printed.append({"bytes": len(body), "sha256": digest, "head": body[:8].decode()})
        return answer(request, {"status": "printed", "bytes": len(body)})

    async def simulate_card(request: Request) -> Response:
        given = json.loads(await request.body() or b"{}")
        hardware.unreadable = bool(given.get("unreadable"))
        if given.get("remove"):
            hardware.card = None
        elif "id_no" in given:
            hardware.card = {"id_no": str(given["id_no"]), "name": str(given.get("name", ""))}
        return answer(request, {"card": hardware.card, "unreadable": hardware.unreadable})

    async def simulate_printer(request: Request) -> Response:
        given = json.loads(await request.body() or b"{}")
        if given.get("printer") in ("ok", "error", "offline"):
            hardware.printer = given["printer"]
        if given.get("paper") in ("ok", "low", "out"):
            hardware.paper = given["paper"]
        return answer(request, {"printer": hardware.printer, "paper": hardware.paper})

    async def printed(request: Request) -> Response:
        return answer(request, {"printed": hardware.printed})

    routes = [
        Route("/status", status, methods=["GET"]),
        Route("/card/read", read_card, methods=["POST"]),
        Route("/print", print_, methods=["POST"]),
        Route("/simulate/card", simulate_card, methods=["POST"]),
        Route("/simulate/printer", simulate_printer, methods=["POST"]),
        Route("/simulate/printed", printed, methods=["GET"]),
    ]
    routes += [Route(r.path, preflight, methods=["OPTIONS"]) for r in list(routes)]
    return Starlette(routes=routes)
