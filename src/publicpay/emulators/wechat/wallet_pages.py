"""The payer's side of WeChat on a phone, emulated: H5 payment, the 公众号's web authorisation
(OAuth2) and the in-app JS bridge of JSAPI payments.

- `POST /v3/pay/transactions/h5` (merchant-signed like every v3 call; `scene_info` with
  `payer_client_ip` and `h5_info.type` required) → `{"h5_url": "<mount>/cgi-bin/mmpayweb-bin/
  checkmweb?prepay_id=…&package=…"}`. The merchant sends the browser there with
  `&redirect_url=`; the page plays WeChat's payment sheet, and confirming pays the trade,
  notifies the merchant and sends the browser to redirect_url.
- `GET /connect/oauth2/authorize?appid&redirect_uri&response_type=code&scope&state` (the
  open.weixin.qq.com page): snsapi_base is silent, so it redirects at once to
  `redirect_uri?code=…&state=…`. Who the payer is comes from a cookie of the emulated WeChat
  client (one openid per client and 公众号 appid).
- `GET /sns/oauth2/access_token?appid&secret&code&grant_type=authorization_code` (the
  api.weixin.qq.com call): `{access_token, expires_in, refresh_token, openid, scope}`, or
  `{errcode, errmsg}`: 40013 invalid appid, 40125 invalid appsecret, 40029 invalid code
  (unknown, expired after 5 minutes, or another appid's), 40163 code been used, 40002 invalid
  grant_type.
- `GET /jsbridge.js`: what WeChat's browser injects into every page, `window.WeixinJSBridge`
  with `invoke('getBrandWCPayRequest', bundle, callback)`. It checks the bundle with the
  emulator (`POST /jsapi/confirm`: appId, paySign with the merchant's key, the payer's openid)
  after the payer confirms on a sheet, then calls back `get_brand_wcpay_request:ok`. A test
  browser playing WeChat adds this script to every page it opens.
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from publicpay.emulators.wechat.crypto import AuthorizationError, check_pay_sign
from publicpay.emulators.wechat.state import ApiError, Trade, digits

if TYPE_CHECKING:
    from publicpay.emulators.wechat.emulator import WechatPayEmulator
    from publicpay.emulators.wechat.routes import V3

CODE_TTL_S = 300
CLIENT_COOKIE = "wx_emulated_client"
CHECKMWEB = "/cgi-bin/mmpayweb-bin/checkmweb"


@dataclass
class _Code:
    appid: str
    openid: str
    expires: float
    used: bool = False


class OAuthBook:
    """The 公众号 apps (appid → AppSecret) and the authorisation codes handed out."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.codes: dict[str, _Code] = {}

    def register(self, appid: str, app_secret: str) -> None:
        with self.lock:
            self.secrets[appid] = app_secret

    def issue(self, appid: str, openid: str) -> str:
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = _Code(appid, openid, time.monotonic() + CODE_TTL_S)
        return code

    def exchange(self, appid: str, secret: str, code: str, grant_type: str) -> dict[str, Any]:
        with self.lock:
            if appid not in self.secrets:
                return _error(40013, "invalid appid")
            if not secrets.compare_digest(self.secrets[appid], secret):
                return _error(40125, "invalid appsecret")
            if grant_type != "authorization_code":
                return _error(40002, "invalid grant_type")
            found = self.codes.get(code)
            if found is None or found.appid != appid or found.expires < time.monotonic():
                return _error(40029, "invalid code")
            if found.used:
                return _error(40163, "code been used")
            found.used = True
        return {
            "access_token": secrets.token_urlsafe(48),
            "expires_in": 7200,
            "refresh_token": secrets.token_urlsafe(48),
            "openid": found.openid,
            "scope": "snsapi_base",
        }


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": f"{message}, rid: {secrets.token_hex(4)}"}


def openid_of(client: str, appid: str) -> str:
    """The payer's openid in one 公众号: stable per client and appid, as WeChat's are."""
    digest = hashlib.sha256(f"{appid}:{client}".encode()).hexdigest()
    return "oEmu" + digest[:24]


def mount_root(request: Request) -> str:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    return str(request.url.replace(path=root, query="")).rstrip("/")


def _html(request: Request, title: str, body: str, status: int = 200) -> HTMLResponse:
    css = html.escape(mount_root(request)) + "/pages.css"
    return HTMLResponse(_page(title, body, css), status)


def add_wallet_routes(app: FastAPI, v3: V3) -> None:
    emulator = v3.emulator

    @app.get("/pages.css")
    def pages_css() -> Response:  # not inline: the host's CSP may forbid inline styles
        return Response(PAGES_CSS, media_type="text/css")

    _h5(app, v3)
    _oauth(app, emulator)
    _bridge(app, emulator)


def _h5(app: FastAPI, v3: V3) -> None:
    emulator, ledger = v3.emulator, v3.ledger

    @app.post("/v3/pay/transactions/h5")
    async def h5(request: Request) -> Response:
        merchant, body = await v3.authorised_json(request)
        scene = body.get("scene_info")
        info = scene.get("h5_info") if isinstance(scene, dict) else None
        if not isinstance(scene, dict) or not scene.get("payer_client_ip"):
            raise ApiError(400, "PARAM_ERROR", "scene_info.payer_client_ip 必填")
        if not isinstance(info, dict) or not info.get("type"):
            raise ApiError(400, "PARAM_ERROR", "scene_info.h5_info.type 必填")
        await emulator.api_faults(str(body.get("out_trade_no", "")) or None)
        trade = ledger.create_order(merchant, body, "MWEB")
        query = urlencode({"prepay_id": trade.prepay_id, "package": digits(10)})
        return v3.signed(200, {"h5_url": f"{mount_root(request)}{CHECKMWEB}?{query}"})

    @app.get(CHECKMWEB)
    def checkmweb(request: Request, prepay_id: str = "", redirect_url: str = "") -> Response:
        trade = _trade(emulator, prepay_id)
        if trade is None or trade.trade_type != "MWEB":
            return _html(request, "订单不存在", "<p id='wx-error'>支付链接无效</p>", 404)
        form = (
            f'<form method="post" action="{html.escape(mount_root(request))}/cgi-bin/'
            'mmpayweb-bin/pay">'
            f'<input type="hidden" name="prepay_id" value="{html.escape(prepay_id)}">'
            f'<input type="hidden" name="redirect_url" value="{html.escape(redirect_url)}">'
            '<button type="submit" id="wx-confirm">确认支付</button></form>'
        )
        body = _sheet(trade) + form
        return _html(request, "微信支付", body)

    @app.post("/cgi-bin/mmpayweb-bin/pay")
    async def h5_pay(request: Request) -> Response:
        form = await request.form()
        prepay_id, target = str(form.get("prepay_id", "")), str(form.get("redirect_url", ""))
        try:
            trade = ledger.pay_jsapi(prepay_id)
        except ApiError as exc:
            return _html(request, "支付失败", f"<p id='wx-error'>{exc.message}</p>", 409)
        emulator.notify_payment(trade)
        if target.startswith(("http://", "https://")):
            return RedirectResponse(target, status_code=303)
        return _html(request, "支付成功", "<p id='wx-paid'>支付成功</p>")


def _oauth(app: FastAPI, emulator: WechatPayEmulator) -> None:
    book = emulator.oauth

    @app.get("/connect/oauth2/authorize")
    def authorize(
        request: Request,
        appid: str = "",
        redirect_uri: str = "",
        response_type: str = "",
        scope: str = "",
        state: str = "",
    ) -> Response:
        problem = ""
        if appid not in book.secrets:
            problem = "appid 无效（10003 redirect_uri 域名与后台配置不一致 / appid 错误）"
        elif not redirect_uri.startswith(("http://", "https://")):
            problem = "redirect_uri 参数错误"
        elif response_type != "code" or scope not in ("snsapi_base", "snsapi_userinfo"):
            problem = "scope 参数错误或没有 scope 权限"
        if problem:
            return _html(request, "授权出错", f"<p id='wx-error'>{problem}</p>", 400)
        client = request.cookies.get(CLIENT_COOKIE) or secrets.token_hex(12)
        code = book.issue(appid, openid_of(client, appid))
        joiner = "&" if "?" in redirect_uri else "?"
        target = f"{redirect_uri}{joiner}{urlencode({'code': code, 'state': state})}"
        response = RedirectResponse(target, status_code=302)
        path = str(request.scope.get("root_path", "")) or "/"
        response.set_cookie(CLIENT_COOKIE, client, path=path, httponly=True, samesite="lax")
        return response

    @app.get("/sns/oauth2/access_token")
    def access_token(
        appid: str = "", secret: str = "", code: str = "", grant_type: str = ""
    ) -> JSONResponse:
        return JSONResponse(book.exchange(appid, secret, code, grant_type))


def _bridge(app: FastAPI, emulator: WechatPayEmulator) -> None:
    ledger = emulator.ledger

    @app.get("/jsbridge.js")
    def bridge(request: Request) -> Response:
        script = BRIDGE_JS.replace("__MOUNT__", json.dumps(mount_root(request)))
        return Response(script, media_type="text/javascript")

    @app.get("/jsapi/sheet")
    def sheet(package: str = "") -> JSONResponse:
        trade = _trade(emulator, package.removeprefix("prepay_id="))
        if trade is None:
            raise ApiError(404, "ORDER_NOT_EXIST", "prepay_id 无效")
        return JSONResponse({"total": trade.total, "description": trade.description})

    @app.post("/jsapi/confirm")
    async def confirm(request: Request) -> JSONResponse:
        """The payer confirmed the sheet: the client checks the bundle, WeChat Pay pays."""
        try:
            bundle = {k: str(v) for k, v in json.loads(await request.body()).items()}
        except (ValueError, AttributeError) as exc:
            raise ApiError(400, "PARAM_ERROR", "请求体须为 JSON 对象") from exc
        prepay_id = bundle.get("package", "").removeprefix("prepay_id=")
        trade = _trade(emulator, prepay_id)
        if trade is None or trade.trade_type != "JSAPI":
            raise ApiError(404, "ORDER_NOT_EXIST", "prepay_id 无效")
        merchant = ledger.merchants[trade.mchid]
        if bundle.get("appId") != merchant.appid:
            raise ApiError(400, "APPID_MCHID_NOT_MATCH", "appId 与下单时不一致")
        try:
            check_pay_sign(bundle, merchant.public_key_pem)
        except AuthorizationError as exc:
            raise ApiError(400, "SIGN_ERROR", str(exc)) from exc
        client = request.cookies.get(CLIENT_COOKIE, "")
        if trade.openid != openid_of(client, trade.appid):
            raise ApiError(400, "OPENID_MISMATCH", "下单的 openid 不是当前付款用户")
        paid = ledger.pay_jsapi(prepay_id)
        emulator.notify_payment(paid)
        return JSONResponse({"err_msg": "get_brand_wcpay_request:ok"})


def _trade(emulator: WechatPayEmulator, prepay_id: str) -> Trade | None:
    if not prepay_id:
        return None
    with emulator.ledger.lock:
        return next((t for t in emulator.ledger.trades.values() if t.prepay_id == prepay_id), None)


def _sheet(trade: Trade) -> str:
    return (
        f'<div class="box" id="wx-sheet" data-out-trade-no="{html.escape(trade.out_trade_no)}">'
        f'<div class="hint">{html.escape(trade.description)}</div>'
        f'<div class="sum" id="wx-amount">¥{trade.total // 100}.{trade.total % 100:02d}</div>'
        "</div>"
    )


def _page(title: str, body: str, css_url: str) -> str:
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="{css_url}"></head>
<body><header>微信支付（模拟）</header><main>{body}
<p class="hint">演示环境：这是微信支付模拟器的页面，确认即视为付款人输入密码完成支付。</p>
</main></body></html>"""


PAGES_CSS = """body{margin:0;font-family:sans-serif;background:#ededed;color:#111}
header{background:#07c160;color:#fff;padding:14px 16px;font-size:18px}
main{padding:16px} .box{background:#fff;border-radius:8px;padding:16px;margin-bottom:12px}
.sum{font-size:34px;font-weight:bold;margin:8px 0} .hint{color:#666;font-size:14px}
button{width:100%;min-height:48px;font-size:18px;border:0;border-radius:6px;background:#07c160;
color:#fff}
"""

BRIDGE_JS = r"""// The emulated WeChat client's JS bridge, injected into every page.
// Styles are set through the CSSOM: a page's CSP may forbid style attributes, not this.
(function () {
  "use strict";
  var MOUNT = __MOUNT__;
  function el(tag, style, text) {
    var node = document.createElement(tag);
    Object.assign(node.style, style || {});
    if (text) node.textContent = text;
    return node;
  }
  var BUTTON = { width: "100%", minHeight: "48px", border: "0", borderRadius: "6px",
    fontSize: "18px", marginTop: "10px" };
  function sheet(bundle, done) {
    fetch(MOUNT + "/jsapi/sheet?package=" + encodeURIComponent(bundle.package || ""))
      .then(function (r) { return r.ok ? r.json() : { total: 0, description: "" }; })
      .then(function (info) {
        var veil = el("div", { position: "fixed", inset: "0", background: "rgba(0,0,0,.45)",
          zIndex: "9998" });
        var box = el("div", { position: "fixed", left: "0", right: "0", bottom: "0",
          background: "#fff", padding: "16px", font: "16px sans-serif", zIndex: "9999",
          borderRadius: "12px 12px 0 0" });
        box.id = "wx-jsapi-sheet";
        box.appendChild(el("div", { color: "#07c160", fontWeight: "bold" }, "微信支付（模拟）"));
        box.appendChild(el("div", { fontSize: "32px", fontWeight: "bold", margin: "8px 0" },
          "¥" + (info.total / 100).toFixed(2)));
        box.appendChild(el("div", { color: "#666", fontSize: "14px" }, info.description || ""));
        var pay = el("button", Object.assign({ background: "#07c160", color: "#fff" }, BUTTON),
          "确认支付");
        pay.id = "wx-jsapi-pay";
        var cancel = el("button", Object.assign({ background: "#f2f2f2", color: "#333" }, BUTTON),
          "取消");
        cancel.id = "wx-jsapi-cancel";
        box.appendChild(pay);
        box.appendChild(cancel);
        document.body.appendChild(veil);
        document.body.appendChild(box);
        function close() { box.remove(); veil.remove(); }
        cancel.onclick = function () {
          close();
          done({ err_msg: "get_brand_wcpay_request:cancel" });
        };
        pay.onclick = function () {
          fetch(MOUNT + "/jsapi/confirm", {
            method: "POST", credentials: "include",
            headers: { "Content-Type": "application/json" }, body: JSON.stringify(bundle),
          }).then(function (r) { return r.json(); }).then(function (res) {
            close();
            done(res.err_msg ? res : { err_msg: "get_brand_wcpay_request:fail", detail: res });
          });
        };
      });
  }
  window.WeixinJSBridge = {
    invoke: function (name, params, callback) {
      if (name === "getBrandWCPayRequest") { sheet(params, callback || function () {}); }
    },
  };
  function ready() { document.dispatchEvent(new Event("WeixinJSBridgeReady")); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(ready, 0); });
  } else { setTimeout(ready, 0); }
})();
"""
