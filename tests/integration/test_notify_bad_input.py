"""Forged, replayed and malformed WeChat Pay / UnionPay notifications at /api/v1/notify/{channel}.

Each bad notification is built from a genuine one (the emulator's notification for a real
payment whose delivery was switched off with the LOSE fault), so that if verification let it
through, the payable would be paid. Each is answered in the channel's protocol and changes
nothing: the payable stays unpaid, no ledger row, no inbox row.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from publicpay.domain.payments.channels import Channel
from publicpay.emulators.unionpay import pki as unionpay_pki
from publicpay.emulators.wechat.crypto import PlatformKey
from tests.integration.channel_kit import (
    base,
    discrepancies,
    inbox_count,
    journals,
    open_order,
    order_status,
    payable_status,
    register,
    scan,
    wait_status,
)
from tests.integration.fault_kit import deliveries, fault
from tests.support.client import SignedClient
from tests.support.db import counts

WECHAT_FAIL = (400, {"code": "FAIL", "message": "失败"})


def lost_notification(stack: Any, api: SignedClient, payer: dict[str, str], channel: str) -> Any:
    """(payment code, order no, the genuine notification body) of a payment whose notification
    never reached us."""
    code = register(api, payer)["payment_code"]
    order = open_order(stack, code, channel)
    fault(stack, channel, "lose_notify", order["order_no"])
    assert scan(stack, order["qr_code"], channel).status_code == 200
    [delivery] = deliveries(stack, channel, order["order_no"])
    assert delivery["status"] == "lost"
    return code, order["order_no"], delivery["request_body"].encode()


def post(stack: Any, channel: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base(stack)}/api/v1/notify/{channel}", content=body, headers=headers)


# --- WeChat Pay ---------------------------------------------------------------------------------


def wechat_config(stack: Any) -> Any:
    return stack.container.gateways.get(Channel.WECHAT).config


def signed(platform: PlatformKey, body: bytes, *, at: float | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json", **platform.headers(body, at=at)}


def reencrypted(stack: Any, body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The envelope with its resource decrypted, changed and encrypted again (APIv3 key)."""
    envelope = json.loads(body)
    resource = envelope["resource"]
    aead = AESGCM(wechat_config(stack).apiv3_key.encode())
    nonce, aad = resource["nonce"].encode(), resource["associated_data"].encode()
    plain = json.loads(aead.decrypt(nonce, base64.b64decode(resource["ciphertext"]), aad))
    change(plain)
    cipher = aead.encrypt(nonce, json.dumps(plain).encode(), aad)
    resource["ciphertext"] = base64.b64encode(cipher).decode()
    return json.dumps(envelope).encode()


def tampered_ciphertext(body: bytes) -> bytes:
    envelope = json.loads(body)
    raw = bytearray(base64.b64decode(envelope["resource"]["ciphertext"]))
    raw[3] ^= 0x01
    envelope["resource"]["ciphertext"] = base64.b64encode(bytes(raw)).decode()
    return json.dumps(envelope).encode()


def forged_platform(stack: Any) -> PlatformKey:
    forger = PlatformKey()
    forger.key_id = stack.wechat.platform.key_id  # the right id, the wrong key
    return forger


def wechat_cases(stack: Any, body: bytes) -> dict[str, tuple[bytes, dict[str, str]]]:
    real = stack.wechat.platform
    wrong_serial = signed(real, body) | {"Wechatpay-Serial": "PUB_KEY_ID_0114" + "9" * 28}
    other_mch = reencrypted(stack, body, lambda r: r.update(mchid="1900000999"))
    return {
        "forged signature": (body, signed(forged_platform(stack), body)),
        "wrong serial": (body, wrong_serial),
        "wrong mchid": (other_mch, signed(real, other_mch)),
        "tampered ciphertext": (tampered_ciphertext(body), signed(real, tampered_ciphertext(body))),
        "stale timestamp": (body, signed(real, body, at=time.time() - 600)),
        "malformed body": (b'{"id": "x", "resource": ', signed(real, b'{"id": "x", "resource": ')),
        "no signature headers": (body, {"Content-Type": "application/json"}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "forged signature",
        "wrong serial",
        "wrong mchid",
        "tampered ciphertext",
        "stale timestamp",
        "malformed body",
        "no signature headers",
    ],
)
def test_bad_wechat_notification_is_answered_fail_and_changes_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str], case: str
) -> None:
    code, order_no, body = lost_notification(stack, api, payer, "wechat")
    bad_body, headers = wechat_cases(stack, body)[case]
    before, inbox_before = counts(stack), inbox_count(stack)

    response = post(stack, "wechat", bad_body, headers)

    assert (response.status_code, response.json()) == WECHAT_FAIL
    assert counts(stack) == before
    assert inbox_count(stack) == inbox_before
    assert payable_status(stack, code)["status"] == "unpaid"
    assert order_status(stack, order_no) == "paying"


def test_wechat_notification_for_an_unknown_order_is_refused_and_recorded(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code, _, body = lost_notification(stack, api, payer, "wechat")
    unknown = reencrypted(stack, body, lambda r: r.update(out_trade_no="P000000000000UNKNOWN"))
    before = counts(stack)

    response = post(stack, "wechat", unknown, signed(stack.wechat.platform, unknown))

    assert (response.status_code, response.json()) == WECHAT_FAIL
    assert counts(stack) == before
    assert discrepancies(stack, "P000000000000UNKNOWN") == ["unknown_order"]
    assert payable_status(stack, code)["status"] == "unpaid"


def test_replayed_wechat_notification_is_acknowledged_and_counted_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code, _, body = lost_notification(stack, api, payer, "wechat")
    first = post(stack, "wechat", body, signed(stack.wechat.platform, body))
    assert first.status_code == 204
    wait_status(stack, code, "paid")
    before = counts(stack)

    again = post(stack, "wechat", body, signed(stack.wechat.platform, body))

    assert again.status_code == 204
    assert counts(stack) == before
    assert journals(stack, code) == ["payment"]


# --- UnionPay -----------------------------------------------------------------------------------


def unionpay_fields(body: bytes) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))


def unionpay_resigned(stack: Any, fields: dict[str, str], **changes: str) -> bytes:
    """Changed and signed again by the (emulated) UnionPay signing certificate."""
    fields = {k: v for k, v in fields.items() if k not in ("signature", "signPubKeyCert")}
    return urllib.parse.urlencode(stack.unionpay.signed({**fields, **changes})).encode()


def foreign_signed(fields: dict[str, str]) -> bytes:
    """Signed by a certificate of a CA that is not UnionPay's."""
    root = unionpay_pki.new_root("Someone Else CA")
    signer = unionpay_pki.issue(root, "00040000:SIGN", unionpay_pki.UNIONPAY_NAME)
    fields = {k: v for k, v in fields.items() if k not in ("signature", "signPubKeyCert")}
    fields["signPubKeyCert"] = signer.cert_pem.decode()
    fields["signature"] = unionpay_pki.sign(fields, signer.key)
    return urllib.parse.urlencode(fields).encode()


def unionpay_cases(stack: Any, body: bytes) -> dict[str, bytes]:
    fields = unionpay_fields(body)
    raised = {**fields, "txnAmt": str(int(fields["txnAmt"]) + 100)}  # signature left as it was
    return {
        "tampered amount": urllib.parse.urlencode(raised).encode(),
        "foreign certificate": foreign_signed(fields),
        "wrong merId": unionpay_resigned(stack, fields, merId="898000000000001"),
        "failed respCode": unionpay_resigned(stack, fields, respCode="01"),
        "malformed body": b"merId=1&&=&%zz",
        "no signature": urllib.parse.urlencode(
            {k: v for k, v in fields.items() if k != "signature"}
        ).encode(),
    }


UNIONPAY_FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}


@pytest.mark.parametrize(
    "case",
    [
        "tampered amount",
        "foreign certificate",
        "wrong merId",
        "failed respCode",
        "malformed body",
        "no signature",
    ],
)
def test_bad_unionpay_notification_is_answered_fail_and_changes_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str], case: str
) -> None:
    code, order_no, body = lost_notification(stack, api, payer, "unionpay")
    before, inbox_before = counts(stack), inbox_count(stack)

    response = post(stack, "unionpay", unionpay_cases(stack, body)[case], UNIONPAY_FORM)

    assert (response.status_code, response.text) == (400, "fail")
    assert counts(stack) == before
    assert inbox_count(stack) == inbox_before
    assert payable_status(stack, code)["status"] == "unpaid"
    assert order_status(stack, order_no) == "paying"


def test_unionpay_notification_for_an_unknown_order_is_refused_and_recorded(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code, _, body = lost_notification(stack, api, payer, "unionpay")
    unknown = unionpay_resigned(stack, unionpay_fields(body), orderId="P000000000000UPUNKNOWN")
    before = counts(stack)

    response = post(stack, "unionpay", unknown, UNIONPAY_FORM)

    assert (response.status_code, response.text) == (400, "fail")
    assert counts(stack) == before
    assert discrepancies(stack, "P000000000000UPUNKNOWN") == ["unknown_order"]
    assert payable_status(stack, code)["status"] == "unpaid"


def test_replayed_unionpay_notification_is_acknowledged_and_counted_once(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    code, _, body = lost_notification(stack, api, payer, "unionpay")
    assert post(stack, "unionpay", body, UNIONPAY_FORM).status_code == 200
    wait_status(stack, code, "paid")
    before = counts(stack)

    again = post(stack, "unionpay", body, UNIONPAY_FORM)

    assert (again.status_code, again.text) == (200, "ok")
    assert counts(stack) == before
    assert journals(stack, code) == ["payment"]
