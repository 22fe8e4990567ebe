"""Path and query parameters shared by the routes: bounded so that no value reaches the database
that it cannot hold (a cursor or id past 2^63 - 1, a NUL, an unbounded string)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from publicpay.api.schemas import NO_CONTROLS

BIGINT_MAX = 2**63 - 1

PaymentCode = Annotated[
    str,
    Path(min_length=1, max_length=40, pattern=NO_CONTROLS, description="20位缴款码（含校验位）"),
]
AppId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_CONTROLS, description="凭证 App ID")
]
EventId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=NO_CONTROLS, description="事件编号")
]
RowId = Annotated[int, Path(ge=1, le=BIGINT_MAX, description="编号")]
Cursor = Annotated[int, Query(ge=0, le=BIGINT_MAX, description="上次返回的 next_cursor")]
