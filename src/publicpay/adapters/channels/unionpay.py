"""UnionPay 全渠道 (ACP 5.1.0) QR payments: the `ChannelGateway` for Channel.UNIONPAY.

Requests are signed form posts (see `unionpay_sign`) to `gateway_url` + the real ACP paths:
`/gateway/api/backTransReq.do` (申码 01/07, 被扫 01/06, 消费撤销 31/00, 退货 04/00),
`/gateway/api/queryTrans.do` (查询 00/00) and `/gateway/api/fileTransRequest.do` (文件传输 76/01;
today's acpsdk posts this to `https://filedownload.95516.com/`, older SDKs to this path).
Every answer must carry a `signPubKeyCert` chaining to the configured UnionPay root and a valid
signature, else `ChannelUnavailable`. respCode 00 = done; 03/04/05 = in process (PENDING); 01–09
other = UnionPay system trouble (`ChannelUnavailable`); anything else = `ChannelRejected`.

ACP finds a transaction by merId + orderId + the ORIGINAL txnTime, and 撤销/退货 need the
original queryId (obtained by a query). The adapter remembers each orderId's txnTime in
`txn_times` (in memory unless the composition root passes a persistent mapping) — learnt when it
sends a request or parses a notification; querying an order it never saw raises
`ChannelUnavailable`. A 申码 order nobody has paid yet queries as NOT_FOUND (34), as Alipay's
precreate does; it is not closed until its payTimeout. Refunds put the original order_no in
`reqReserved`, which UnionPay echoes in the refund notification, so the notification can name
the order.

`close()` sends nothing: ACP has no close for 申码 orders; the code dies by itself at `payTimeout`,
which `create_qr_order` sets to the order's `expires_at`. A payment that still lands (it cannot,
unless UnionPay misbehaves) arrives as a normal notification and the platform handles it as a late
payment. Use `cancel()` (消费撤销) to take back a paid or in-process trade.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

import httpx
from cryptography import x509

from publicpay.adapters.channels import unionpay_sign as acp
from publicpay.adapters.channels.unionpay_sign import StatementLine, parse_statement
from publicpay.domain.errors import ChannelRejected, ChannelUnavailable, InvalidNotification
from publicpay.domain.payments.channels import (
    BarcodePayRequest,
    Channel,
    Notification,
    NotificationAck,
    NotificationKind,
    QrOrder,
    QrOrderRequest,
    RefundRequest,
    RefundResult,
    RefundState,
    TradeResult,
    TradeState,
)

__all__ = ["StatementLine", "UnionPayConfig", "UnionPayGateway", "parse_statement"]

log = logging.getLogger(__name__)
BACK_TRANS = "/gateway/api/backTransReq.do"
QUERY_TRANS = "/gateway/api/queryTrans.do"
FILE_TRANS = "/gateway/api/fileTransRequest.do"
IN_PROCESS = frozenset({"03", "04", "05"})
NOT_FOUND = "34"


@dataclass(frozen=True)
class UnionPayConfig:
    mer_id: str  # 15 digits
    sign_cert_pem: bytes  # our signing certificate (its serial is certId)
    sign_key_pem: bytes
    unionpay_root_cert_pem: bytes  # trust anchor for signPubKeyCert (root [+ middle] PEM)
    gateway_url: str  # base, e.g. "https://gateway.95516.com" or f"{base}/emulator/unionpay"
    timeout_s: float = 5.0
    back_url: str = ""  # used when a request carries no notify_url


class UnionPayGateway:
    channel = Channel.UNIONPAY

    def __init__(
        self,
        config: UnionPayConfig,
        client: httpx.Client | None = None,
        *,
        txn_times: MutableMapping[str, str] | None = None,
    ) -> None:
        if len(config.mer_id) != 15 or not (config.mer_id.isascii() and config.mer_id.isdigit()):
            raise ValueError("UnionPay merId must be 15 digits")
        self._config = config
        self._key = acp.load_private_key(config.sign_key_pem)
        self._cert_id = acp.cert_id(x509.load_pem_x509_certificate(config.sign_cert_pem))
        self._anchors = acp.load_trust_anchors(config.unionpay_root_cert_pem)
        self._client = client or httpx.Client(timeout=config.timeout_s)
        self._txn_times: MutableMapping[str, str] = {} if txn_times is None else txn_times

    # --- wire ---------------------------------------------------------------------------------

    def _fields(self, txn_type: str, sub_type: str, order_id: str, txn_time: str) -> dict[str, str]:
        return {
            "version": "5.1.0",
            "encoding": "UTF-8",
            "signMethod": "01",
            "certId": self._cert_id,
            "txnType": txn_type,
            "txnSubType": sub_type,
            "bizType": "000000",
            "accessType": "0",
            "channelType": "08",
            "merId": self._config.mer_id,
            "orderId": order_id,
            "txnTime": txn_time,
        }

    def _money(self, fields: dict[str, str], amount_fen: int, back_url: str) -> dict[str, str]:
        fields.update(txnAmt=str(amount_fen), currencyCode="156")
        if back_url:
            fields["backUrl"] = back_url
        return fields

    def _post(self, path: str, fields: dict[str, str]) -> dict[str, str]:
        fields["signature"] = acp.sign(fields, self._key)
        try:
            response = self._client.post(
                self._config.gateway_url.rstrip("/") + path,
                content=urllib.parse.urlencode(fields),
                headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
                timeout=self._config.timeout_s,
            )
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"银联网关无响应：{type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ChannelUnavailable(f"银联网关返回 HTTP {response.status_code}")
        try:
            answer = acp.parse_answer(response.content.decode("utf-8"))
            acp.verify_message(answer, self._anchors)
        except (ValueError, acp.UntrustedMessage) as exc:
            raise ChannelUnavailable(f"银联应答验签失败：{exc}") from exc
        if answer.get("merId", self._config.mer_id) != self._config.mer_id:
            raise ChannelUnavailable("银联应答的商户号不符")
        return answer

    def _outcome(self, answer: Mapping[str, str]) -> bool:
        """True when done (00), False when in process; raises for refusals and trouble."""
        code = answer.get("respCode", "")
        if code == "00":
            return True
        if code in IN_PROCESS:
            return False
        message = answer.get("respMsg", "")
        if len(code) == 2 and "01" <= code <= "09":
            raise ChannelUnavailable(f"银联系统错误 {code}：{message}")
        raise ChannelRejected(f"银联拒绝：{code} {message}", channel_code=code)

    def _txn_time(self, order_id: str) -> str:
        known = self._txn_times.get(order_id)
        if known is None:
            raise ChannelUnavailable(f"未记录订单 {order_id} 的银联交易时间，无法查询")
        return known

    def _new_txn_time(self, order_id: str) -> str:
        """The txnTime for a new request; a retried orderId keeps its first txnTime."""
        return self._txn_times.setdefault(order_id, acp.beijing_time(datetime.now(UTC)))

    # --- payments -----------------------------------------------------------------------------

    def create_qr_order(self, request: QrOrderRequest) -> QrOrder:
        txn_time = self._new_txn_time(request.order_no)
        fields = self._fields("01", "07", request.order_no, txn_time)
        self._money(fields, request.amount_fen, request.notify_url or self._config.back_url)
        fields["payTimeout"] = acp.beijing_time(request.expires_at)
        answer = self._post(BACK_TRANS, fields)
        if not self._outcome(answer) or not answer.get("qrCode"):
            raise ChannelUnavailable("银联未返回二维码")
        return QrOrder(request.order_no, answer["qrCode"], raw=answer)

    def pay_barcode(self, request: BarcodePayRequest) -> TradeResult:
        txn_time = self._new_txn_time(request.order_no)
        fields = self._fields("01", "06", request.order_no, txn_time)
        self._money(fields, request.amount_fen, request.notify_url or self._config.back_url)
        fields["qrNo"] = request.auth_code
        answer = self._post(BACK_TRANS, fields)
        done = self._outcome(answer)
        return TradeResult(
            request.order_no,
            TradeState.SUCCEEDED if done else TradeState.PENDING,
            amount_fen=request.amount_fen,
            channel_trade_no=answer.get("queryId") or None,
            paid_at=acp.paid_at(answer) if done else None,
            raw=answer,
        )

    def _query(self, order_id: str) -> dict[str, str] | None:
        """The query answer for one of our orderIds, or None when UnionPay has no such trade."""
        fields = self._fields("00", "00", order_id, self._txn_time(order_id))
        answer = self._post(QUERY_TRANS, fields)
        if answer.get("respCode") == NOT_FOUND:
            return None
        self._outcome(answer)
        return answer

    def query(self, order_no: str) -> TradeResult:
        answer = self._query(order_no)
        if answer is None:
            return TradeResult(order_no, TradeState.NOT_FOUND)
        if answer.get("respCode") in IN_PROCESS:
            return TradeResult(order_no, TradeState.PENDING, raw=answer)
        original = answer.get("origRespCode", "")
        state = (
            TradeState.SUCCEEDED
            if original == "00"
            else TradeState.PENDING
            if original in IN_PROCESS
            else TradeState.FAILED
        )
        try:
            amount = acp.parse_fen(answer.get("txnAmt", ""))
        except ValueError as exc:
            raise ChannelUnavailable("银联查询应答金额格式错误") from exc
        return TradeResult(
            order_no,
            state,
            amount_fen=amount,
            channel_trade_no=answer.get("queryId") or None,
            paid_at=acp.paid_at(answer) if state is TradeState.SUCCEEDED else None,
            raw=answer,
        )

    def close(self, order_no: str) -> None:
        log.info("unionpay close %s: nothing to send, the QR code expires at payTimeout", order_no)

    def cancel(self, order_no: str) -> TradeResult:
        trade = self.query(order_no)
        if trade.state in (TradeState.FAILED, TradeState.CLOSED):
            return trade
        if trade.state is TradeState.NOT_FOUND or not trade.channel_trade_no:
            raise ChannelRejected("银联查无此交易，无法撤销", channel_code=NOT_FOUND)
        cancel_id = f"{order_no[:38]}CX"
        fields = self._fields("31", "00", cancel_id, self._new_txn_time(cancel_id))
        self._money(fields, trade.amount_fen or 0, "")
        fields["origQryId"] = trade.channel_trade_no
        answer = self._post(BACK_TRANS, fields)
        done = self._outcome(answer)
        return TradeResult(
            order_no,
            TradeState.CLOSED if done else TradeState.PENDING,
            amount_fen=trade.amount_fen,
            channel_trade_no=trade.channel_trade_no,
            raw=answer,
        )

    # --- refunds ------------------------------------------------------------------------------

    def refund(self, request: RefundRequest) -> RefundResult:
        trade = self.query(request.order_no)
        if trade.state is not TradeState.SUCCEEDED or not trade.channel_trade_no:
            raise ChannelRejected("原交易未支付成功，无法退货", channel_code="35")
        fields = self._fields("04", "00", request.refund_no, self._new_txn_time(request.refund_no))
        self._money(fields, request.refund_fen, request.notify_url or self._config.back_url)
        fields.update(origQryId=trade.channel_trade_no, reqReserved=request.order_no)
        answer = self._post(BACK_TRANS, fields)
        self._outcome(answer)
        return RefundResult(
            request.refund_no,
            RefundState.PROCESSING,  # 00 = accepted; the result comes by notification or query
            request.refund_fen,
            channel_refund_no=answer.get("queryId") or None,
            raw=answer,
        )

    def query_refund(self, order_no: str, refund_no: str) -> RefundResult:
        answer = self._query(refund_no)
        if answer is None:
            raise ChannelRejected("银联查无此退货交易", channel_code=NOT_FOUND)
        original = answer.get("origRespCode", "")
        in_process = answer.get("respCode") in IN_PROCESS or original in IN_PROCESS
        state = (
            RefundState.PROCESSING
            if in_process
            else RefundState.SUCCEEDED
            if original == "00"
            else RefundState.FAILED
        )
        amount = answer.get("txnAmt", "")
        return RefundResult(
            refund_no,
            state,
            int(amount) if amount.isascii() and amount.isdigit() else 0,
            channel_refund_no=answer.get("queryId") or None,
            raw=answer,
        )

    # --- notifications ------------------------------------------------------------------------

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=True
            )
            fields = dict(pairs)
            acp.verify_message(fields, self._anchors)
        except (ValueError, UnicodeDecodeError, acp.UntrustedMessage) as exc:
            raise InvalidNotification(f"银联通知验签失败：{exc}") from exc
        if fields.get("merId") != self._config.mer_id:
            raise InvalidNotification("银联通知的商户号不符")
        if fields.get("respCode") != "00":
            raise InvalidNotification(f"银联通知应答码 {fields.get('respCode')} 不是成功")
        try:
            notification = self._notification(fields)
        except (KeyError, ValueError) as exc:
            raise InvalidNotification(f"银联通知字段缺失或格式错误：{exc}") from exc
        self._txn_times.setdefault(fields["orderId"], fields["txnTime"])
        return notification

    def _notification(self, fields: dict[str, str]) -> Notification:
        txn_type = fields.get("txnType")
        if txn_type == "01":
            kind, order_no, refund_no = NotificationKind.PAYMENT, fields["orderId"], None
            state: TradeState | RefundState = TradeState.SUCCEEDED
            trade_no = fields["queryId"]
        elif txn_type == "04" and fields.get("reqReserved"):
            kind, order_no, refund_no = (
                NotificationKind.REFUND,
                fields["reqReserved"],
                fields["orderId"],
            )
            state = RefundState.SUCCEEDED
            trade_no = fields.get("origQryId", "")
        else:
            raise ValueError(f"txnType {txn_type} is not a payment or a refund")
        return Notification(
            channel=Channel.UNIONPAY,
            notify_id=fields["queryId"],
            kind=kind,
            order_no=order_no,
            state=state,
            amount_fen=acp.parse_fen(fields["txnAmt"]),
            app_id=fields["merId"],
            channel_trade_no=trade_no or None,
            refund_no=refund_no,
            paid_at=acp.paid_at(fields),
            raw=fields,
        )

    def ack(self, ok: bool) -> NotificationAck:
        if ok:
            return NotificationAck(200, b"ok", "text/plain")
        return NotificationAck(400, b"fail", "text/plain")

    # --- statements ---------------------------------------------------------------------------

    def fetch_statement(self, day: date) -> bytes:
        """The statement text file for settlement day `day` (unzipped from `fileContent`)."""
        fields = self._fields("76", "01", "", acp.beijing_time(datetime.now(UTC)))
        del fields["orderId"], fields["channelType"]
        fields.update(fileType="00", settleDate=f"{day:%m%d}")
        answer = self._post(FILE_TRANS, fields)
        if not self._outcome(answer):
            raise ChannelUnavailable("银联对账文件尚未生成")
        try:
            return acp.statement_from_file_content(answer.get("fileContent", ""))
        except ValueError as exc:
            raise ChannelUnavailable("银联对账文件格式错误") from exc
