"""Wallet buttons of the pay page on a phone, over HTTP against the emulators: Alipay WAP, WeChat
Pay H5, WeChat JSAPI through the 公众号's OAuth2 (snsapi_base); second taps and bad input."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
from sqlalchemy import select

from publicpay.adapters.channels.alipay_sign import load_public_key, verify_notification
from publicpay.adapters.db.payables import payables
from publicpay.adapters.db.payments.tables import payment_orders as orders
from publicpay.emulators.wallet import ALIPAY_USER_AGENT, WECHAT_USER_AGENT
from tests.integration.receipt_kit import pay, register
from tests.support.client import SignedClient
from tests.support.polling import wait_until

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"


def _client(user_agent: str) -> httpx.Client:
    return httpx.Client(headers={"User-Agent": user_agent}, timeout=10)


def _paid(base: str, code: str) -> None:
    wait_until(
        lambda: httpx.get(f"{base}/api/v1/pay/{code}").json()["status"] == "paid",
        interval_s=0.02,
        message=f"{code} was not paid",
    )


def _orders(stack: Any, code: str) -> list[Any]:
    stmt = (
        select(orders)
        .join(payables, payables.c.id == orders.c.payable_id)
        .where(payables.c.payment_code == code)
    )
    with stack.container.engines.read.connect() as conn:
        return list(conn.execute(stmt))


def _biz(url: str) -> dict[str, Any]:
    query = dict(parse_qsl(urlsplit(url).query))
    return dict(json.loads(query["biz_content"]))


def test_phone_page_shows_wallet_buttons_first_and_desktop_the_qr_first(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    phone = _client(PHONE).get(f"{base}/pay/{code}").text
    assert phone.index('id="wallets"') < phone.index('id="pay-box"')
    assert 'data-wallet="alipay-wap"' in phone
    assert 'data-wallet="wechat-h5"' in phone
    desktop = _client(DESKTOP).get(f"{base}/pay/{code}").text
    assert desktop.index('id="pay-box"') < desktop.index('id="wallets"')
    assert 'data-wallet="wechat-h5"' not in desktop
    inside = _client(WECHAT_USER_AGENT).get(f"{base}/pay/{code}").text
    assert 'data-wallet="wechat-jsapi"' in inside
    assert 'data-wallet="alipay-wap"' not in inside


def test_alipay_wap_pays_through_the_cashier_and_returns_signed(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    browser = _client(ALIPAY_USER_AGENT)
    tap = browser.post(f"{base}/pay/{code}/wallet/alipay-wap")
    assert tap.status_code == 303
    gateway = tap.headers["location"]
    query = dict(parse_qsl(urlsplit(gateway).query))
    assert query["method"] == "alipay.trade.wap.pay"
    assert query["return_url"] == f"{base}/pay/{code}"
    assert _biz(gateway)["product_code"] == "QUICK_WAP_WAY"

    cashier = browser.get(gateway)
    assert cashier.status_code == 200
    assert 'id="alipay-cashier"' in cashier.text
    token = re.search(r'name="token" value="([^"]+)"', cashier.text)
    assert token is not None
    back = browser.post(f"{base}/emulator/alipay/wap/pay", data={"token": token.group(1)})
    assert back.status_code == 303
    returned = back.headers["location"]
    assert returned.startswith(f"{base}/pay/{code}?")
    fields = dict(parse_qsl(urlsplit(returned).query))
    assert fields["method"] == "alipay.trade.wap.pay.return"
    verify_notification(fields, load_public_key(stack.alipay.public_key_pem))
    _paid(base, code)  # the async notification completed it
    assert 'data-status="paid"' in browser.get(returned).text
    assert [row.method for row in _orders(stack, code)] == ["wap"]


def test_a_second_tap_reuses_the_open_order_at_each_wallet(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    phone = _client(PHONE)
    first = phone.post(f"{base}/pay/{code}/wallet/alipay-wap").headers["location"]
    second = phone.post(f"{base}/pay/{code}/wallet/alipay-wap").headers["location"]
    assert _biz(first)["out_trade_no"] == _biz(second)["out_trade_no"]
    h5_first = phone.post(f"{base}/pay/{code}/wallet/wechat-h5").headers["location"]
    h5_second = phone.post(f"{base}/pay/{code}/wallet/wechat-h5").headers["location"]
    assert h5_first == h5_second
    assert sorted(row.method for row in _orders(stack, code)) == ["h5", "wap"]


def test_wechat_h5_pays_and_comes_back_to_the_pay_page(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    browser = _client(PHONE)
    h5_url = browser.post(f"{base}/pay/{code}/wallet/wechat-h5").headers["location"]
    assert "/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" in h5_url
    redirect = parse_qs(urlsplit(h5_url).query)["redirect_url"][0]
    assert redirect == f"{base}/pay/{code}?back=wechat-h5"
    sheet = browser.get(h5_url)
    assert sheet.status_code == 200
    assert 'id="wx-sheet"' in sheet.text
    prepay_id = parse_qs(urlsplit(h5_url).query)["prepay_id"][0]
    back = browser.post(
        f"{base}/emulator/wechat/cgi-bin/mmpayweb-bin/pay",
        data={"prepay_id": prepay_id, "redirect_url": redirect},
    )
    assert back.status_code == 303
    assert back.headers["location"] == redirect
    _paid(base, code)
    assert [row.method for row in _orders(stack, code)] == ["h5"]


def _jsapi_bundle(page: str) -> dict[str, str]:
    found = re.search(r'id="wechat-pay-request">(.*?)</script>', page, re.S)
    assert found is not None, page
    return dict(json.loads(found.group(1)))


def test_wechat_jsapi_gets_the_openid_by_oauth_then_pays_with_the_bridge(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    wechat = httpx.Client(
        headers={"User-Agent": WECHAT_USER_AGENT}, follow_redirects=True, timeout=10
    )
    page = wechat.post(f"{base}/pay/{code}/wallet/wechat-jsapi")
    assert page.status_code == 200, page.text
    hops = [str(r.url) for r in page.history]
    assert any("/connect/oauth2/authorize?" in hop and "snsapi_base" in hop for hop in hops)
    assert "/pay/wechat/oauth?code=" in str(page.url)
    bundle = _jsapi_bundle(page.text)
    assert set(bundle) == {"appId", "timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert bundle["signType"] == "RSA"

    again = wechat.post(f"{base}/pay/{code}/wallet/wechat-jsapi")  # the cookie: no OAuth now
    assert not again.history or all("oauth" not in str(r.url) for r in again.history)
    assert _jsapi_bundle(again.text)["package"] == bundle["package"]

    paid = wechat.post(f"{base}/emulator/wechat/jsapi/confirm", json=bundle)
    assert paid.json() == {"err_msg": "get_brand_wcpay_request:ok"}
    _paid(base, code)
    assert [row.method for row in _orders(stack, code)] == ["jsapi"]


def test_another_wechat_user_cannot_pay_the_jsapi_order(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    wechat = httpx.Client(
        headers={"User-Agent": WECHAT_USER_AGENT}, follow_redirects=True, timeout=10
    )
    bundle = _jsapi_bundle(wechat.post(f"{base}/pay/{code}/wallet/wechat-jsapi").text)
    stranger = httpx.post(f"{base}/emulator/wechat/jsapi/confirm", json=bundle)
    assert stranger.status_code == 400
    assert stranger.json()["code"] == "OPENID_MISMATCH"
    assert httpx.get(f"{base}/api/v1/pay/{code}").json()["status"] == "unpaid"


def test_oauth_callback_refuses_a_replayed_code_a_forged_state_and_no_code(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    wechat = httpx.Client(headers={"User-Agent": WECHAT_USER_AGENT}, timeout=10)
    start = wechat.get(f"{base}/pay/{code}/wallet/wechat-oauth")
    assert start.status_code == 302
    authorize = wechat.get(start.headers["location"])
    callback = authorize.headers["location"]
    assert wechat.get(callback).status_code == 200
    replayed = httpx.get(callback, headers={"User-Agent": WECHAT_USER_AGENT})
    assert replayed.status_code == 400
    assert "微信授权失败" in replayed.text
    state = parse_qs(urlsplit(callback).query)["state"][0]
    forged = httpx.get(f"{base}/pay/wechat/oauth", params={"code": "x", "state": state + "0"})
    assert forged.status_code == 400
    assert "微信授权无效" in forged.text
    empty = httpx.get(f"{base}/pay/wechat/oauth", params={"state": state})
    assert empty.status_code == 400
    assert "未完成微信授权" in empty.text
    assert len(_orders(stack, code)) == 1  # only the good callback opened an order


def test_wallet_taps_on_bad_input_answer_a_chinese_page_and_change_nothing(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    phone = _client(PHONE)
    unknown = phone.post(f"{base}/pay/{register(api, payer)}/wallet/paypal")
    assert unknown.status_code == 404
    assert "不支持的支付方式" in unknown.text
    mistyped = phone.post(f"{base}/pay/12345678901234567890/wallet/alipay-wap")
    assert mistyped.status_code == 404
    assert "未找到" in mistyped.text
    code = register(api, payer)
    pay(stack, code)
    again = phone.post(f"{base}/pay/{code}/wallet/alipay-wap")
    assert again.status_code == 409
    assert "不能再支付" in again.text
    assert len(_orders(stack, code)) == 1


def test_another_wechat_payer_gets_an_order_of_their_own(
    stack: Any, api: SignedClient, payer: dict[str, str]
) -> None:
    base = stack.info["base_url"]
    code = register(api, payer)
    first, second = (
        httpx.Client(headers={"User-Agent": WECHAT_USER_AGENT}, follow_redirects=True, timeout=10)
        for _ in range(2)
    )
    mine = _jsapi_bundle(first.post(f"{base}/pay/{code}/wallet/wechat-jsapi").text)
    theirs = _jsapi_bundle(second.post(f"{base}/pay/{code}/wallet/wechat-jsapi").text)
    assert mine["package"] != theirs["package"]  # a prepay_id is bound to one openid
    again = _jsapi_bundle(first.post(f"{base}/pay/{code}/wallet/wechat-jsapi").text)
    assert again["package"] == mine["package"]
    assert len(_orders(stack, code)) == 2
