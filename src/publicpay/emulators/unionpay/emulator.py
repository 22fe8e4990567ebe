"""The emulated UnionPay 全渠道 gateway: checks merchants' ACP 5.1.0 requests, answers them signed,
and sends signed back-office notifications (后台通知) to their backUrl.

Notification retries: UnionPay does not publish its schedule ([UNVERIFIED]); this emulator retries
until an HTTP 200 at 0 s, 1, 2, 4, 8, 16, 32, 64, 128 min, then every 4 h — about 24 h in all —
each delay multiplied by `time_scale`.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from datetime import date, timedelta

from cryptography import x509
from fastapi import FastAPI

from publicpay.emulators.notifier import (
    DEFAULT_FAULT_SECONDS,
    Delivery,
    Fault,
    FaultBook,
    Notifier,
    OutgoingRequest,
)
from publicpay.emulators.unionpay import pki
from publicpay.emulators.unionpay.ledger import (
    SUCCESS_MSG,
    Ledger,
    Refusal,
    Txn,
    now_shanghai,
)
from publicpay.emulators.unionpay.statement import file_name, statement_zip

NOTIFY_SCHEDULE_S = (0, 60, 120, 240, 480, 960, 1920, 3840, 7680, *([14400] * 5))
_ECHOED = (
    "version",
    "encoding",
    "bizType",
    "txnTime",
    "txnType",
    "txnSubType",
    "accessType",
    "merId",
    "orderId",
    "signMethod",
)
_STATE_ANSWERS = {
    "succeeded": ("00", SUCCESS_MSG),
    "in_process": ("05", "交易已受理，请稍后查询交易结果"),
    "failed": ("01", "交易失败"),
}
Handler = Callable[[dict[str, str]], dict[str, str]]


def parse_form(body: bytes) -> dict[str, str]:
    text = body.decode("utf-8")
    pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise ValueError("repeated field")
    return fields


class UnionPayEmulator:
    """UnionPay's side of ACP 5.1.0, with its own CA; mount `create_app()` at /emulator/unionpay."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self._root = pki.new_root()
        self._signer = pki.issue(self._root, "00040000:SIGN", pki.UNIONPAY_NAME)
        self._merchants: dict[str, tuple[str, x509.Certificate]] = {}  # certId -> (merId, cert)
        self._merchants_lock = threading.Lock()
        self.faults = FaultBook()
        self._notifier = Notifier(
            schedule=NOTIFY_SCHEDULE_S,
            is_acknowledged=lambda response: response.status_code == 200,
            time_scale=time_scale,
        )
        self.ledger = Ledger(on_completed=self._notify)

    @property
    def root_cert_pem(self) -> bytes:
        """The trust anchor merchants configure to verify `signPubKeyCert`."""
        return self._root.cert_pem

    @property
    def signing_cert_pem(self) -> bytes:
        return self._signer.cert_pem

    def issue_merchant_cert(self, mer_id: str) -> tuple[bytes, bytes]:
        """(cert PEM, key PEM) of a new signing certificate for `mer_id`, issued by the root."""
        identity = pki.issue(self._root, mer_id, mer_id)
        with self._merchants_lock:
            self._merchants[identity.cert_id] = (mer_id, identity.cert)
        return identity.cert_pem, identity.key_pem

    def create_app(self) -> FastAPI:
        """The gateway's routes; the main app mounts it at `/emulator/unionpay`."""
        from publicpay.emulators.unionpay.app import build_app

        return build_app(self)

    def settlement(self, mer_id: str, day: date) -> int:
        """What UnionPay pays the merchant for settlement day `day` (fen): payments less refunds
        and cancels, gross (UnionPay bills its fee monthly, apart)."""
        sign = {"01": 1, "04": -1, "31": -1}
        return sum(
            sign.get(t.txn_type, 0) * t.amount_fen for t in self.ledger.settled_on(mer_id, day)
        )

    def deliveries(self, order_id: str | None = None) -> list[Delivery]:
        return self._notifier.deliveries(order_id)

    def wait_notifications_idle(self, timeout_s: float = 5.0) -> bool:
        return self._notifier.wait_idle(timeout_s)

    def close(self) -> None:
        self._notifier.close()

    # --- gateway requests -------------------------------------------------------------------

    async def answer(self, body: bytes, handle: Handler) -> tuple[int, str]:
        """(HTTP status, answer text) for one gateway request, faults applied."""
        try:
            req = parse_form(body)
        except (ValueError, UnicodeDecodeError):
            return 200, self._encode({}, Refusal("10", "报文格式错误"))
        order_id = req.get("orderId")
        if self.faults.get(order_id, Fault.ERROR_5XX):
            return 502, "Bad Gateway"
        try:
            self._verify(req)
            text = self._encode(req, handle(req))
        except Refusal as refusal:
            text = self._encode(req, refusal)
        timeout = self.faults.get(order_id, Fault.TIMEOUT)
        if timeout:
            await asyncio.sleep(timeout.seconds_or(DEFAULT_FAULT_SECONDS))
        return 200, text

    def _verify(self, req: Mapping[str, str]) -> None:
        if req.get("version") != "5.1.0" or req.get("signMethod") != "01":
            raise Refusal("10", "报文格式错误[version/signMethod]")
        mer_id = req.get("merId", "")
        if len(mer_id) != 15 or not (mer_id.isascii() and mer_id.isdigit()):
            raise Refusal("10", "报文格式错误[merId]")
        with self._merchants_lock:
            known = self._merchants.get(req.get("certId", ""))
        if known is None or known[0] != mer_id or not pki.signature_matches(req, known[1]):
            raise Refusal("11", "验证签名失败")
        if req.get("accessType") != "0":
            raise Refusal("32", "无此交易权限[accessType]")
        if "txnAmt" in req and req.get("currencyCode") != "156":
            raise Refusal("10", "报文格式错误[currencyCode]")

    def _encode(self, req: Mapping[str, str], result: dict[str, str] | Refusal) -> str:
        fields = {key: req[key] for key in _ECHOED if key in req}
        if isinstance(result, Refusal):
            fields.update(respCode=result.code, respMsg=result.message)
        else:
            fields.update(respCode="00", respMsg=SUCCESS_MSG)
            fields.update(result)
        return pki.encode_answer(self.signed({k: pki.braced(v) for k, v in fields.items()}))

    def signed(self, fields: dict[str, str]) -> dict[str, str]:
        """`fields` with UnionPay's signing certificate and signature, as its answers and
        notifications carry them; tests forge notifications with it."""
        fields = {**fields, "signPubKeyCert": self._signer.cert_pem.decode("ascii")}
        fields["signature"] = pki.sign(fields, self._signer.key)
        return fields

    def back_trans(self, req: dict[str, str]) -> dict[str, str]:
        kind = (req.get("txnType"), req.get("txnSubType"))
        if kind == ("01", "07"):
            qr_code = "https://qr.95516.com/00010000/" + "".join(
                secrets.choice("0123456789") for _ in range(24)
            )
            return self.ledger.create_qr(req, qr_code)
        if kind == ("01", "06"):
            code, fields = self.ledger.pay_barcode(req)
            if code == "05":
                fields.update(respCode="05", respMsg="交易已受理，请稍后查询交易结果")
            return fields
        if kind == ("31", "00"):
            return self.ledger.cancel(req)
        if kind == ("04", "00"):
            return self.ledger.refund(req)
        raise Refusal("32", "无此交易权限")

    def query_trans(self, req: dict[str, str]) -> dict[str, str]:
        if (req.get("txnType"), req.get("txnSubType")) != ("00", "00"):
            raise Refusal("32", "无此交易权限")
        txn = self.ledger.query(req)
        code, message = _STATE_ANSWERS[txn.state]
        return {"origRespCode": code, "origRespMsg": message, **self._reported(txn)}

    def file_trans(self, req: dict[str, str]) -> dict[str, str]:
        if (req.get("txnType"), req.get("txnSubType")) != ("76", "01"):
            raise Refusal("32", "无此交易权限")
        if req.get("fileType") != "00":
            raise Refusal("10", "报文格式错误[fileType]")
        day = _settle_day(req.get("settleDate", ""))
        content = statement_zip(req["merId"], day, self.ledger.settled_on(req["merId"], day))
        return {
            "settleDate": req["settleDate"],
            "fileType": "00",
            "fileName": file_name(req["merId"], day).replace(".txt", ".zip"),
            "fileContent": base64.b64encode(content).decode("ascii"),
        }

    # --- payer side ---------------------------------------------------------------------------

    def scan(self, qr_code: str) -> Txn:
        order = next((t for t in self.ledger.all() if t.qr_code == qr_code), None)
        late = order is not None and self.faults.get(order.order_id, Fault.SUCCEED_AFTER_CLOSE)
        return self.ledger.scan(qr_code, ignore_timeout=bool(late))

    # --- notifications ------------------------------------------------------------------------

    def _reported(self, txn: Txn) -> dict[str, str]:
        fields = txn.outcome_fields()
        if txn.txn_type == "01" and self.faults.get(txn.order_id, Fault.AMOUNT_MISMATCH):
            fields["txnAmt"] = str(txn.amount_fen + 1)
        return fields

    def _notify(self, txn: Txn) -> None:
        if not txn.back_url:
            return
        fields = {
            "version": "5.1.0",
            "encoding": "UTF-8",
            "bizType": "000000",
            "txnType": txn.txn_type,
            "txnSubType": txn.txn_sub_type,
            "accessType": "0",
            "merId": txn.mer_id,
            "orderId": txn.order_id,
            "txnTime": txn.txn_time,
            "currencyCode": "156",
            "signMethod": "01",
            "respCode": "00",
            "respMsg": SUCCESS_MSG,
            **self._reported(txn),
        }
        fields.update(settleAmt=fields["txnAmt"], settleCurrencyCode="156")
        body = urllib.parse.urlencode(self.signed(fields)).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
        self._notifier.dispatch(
            OutgoingRequest(txn.back_url, body, headers),
            key=txn.order_id,
            first_delay_s=self._notify_delay(txn),
            duplicate=bool(self.faults.get(txn.order_id, Fault.DUPLICATE_NOTIFY)),
            lose=bool(self.faults.get(txn.order_id, Fault.LOSE_NOTIFY)),
        )

    def _notify_delay(self, txn: Txn) -> float:
        """DELAY holds any notification back; REORDER holds back payments so refunds overtake."""
        delay = self.faults.get(txn.order_id, Fault.DELAY_NOTIFY)
        if txn.txn_type == "01" and not delay:
            delay = self.faults.get(txn.order_id, Fault.REORDER_NOTIFY)
        return delay.seconds_or(DEFAULT_FAULT_SECONDS) if delay else 0.0


def _settle_day(mmdd: str) -> date:
    """The latest date with this MMdd that is not after tomorrow (Beijing)."""
    today = now_shanghai().date()
    if len(mmdd) == 4 and mmdd.isascii() and mmdd.isdigit():
        for year in (today.year, today.year - 1, today.year - 4):
            try:
                candidate = date(year, int(mmdd[:2]), int(mmdd[2:]))
            except ValueError:
                continue
            if candidate <= today + timedelta(days=1):
                return candidate
    raise Refusal("10", "报文格式错误[settleDate]")
