// WeChat JSAPI payment (inside WeChat's browser): ask WeixinJSBridge to pay the prepared order,
// then show the payable's page. A static file: the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var box = document.getElementById("wechat-pay");
  if (!box) return;
  var bundle = JSON.parse(document.getElementById("wechat-pay-request").textContent);
  function pay() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", bundle, function (res) {
      if (res.err_msg === "get_brand_wcpay_request:ok") {
        window.location.href = "/pay/" + encodeURIComponent(box.dataset.code);
      } else if (res.err_msg !== "get_brand_wcpay_request:cancel") {
        var el = document.getElementById("wx-error");
        el.textContent = "支付未完成，请稍后重试";
        el.hidden = false;
      }
    });
  }
  if (window.WeixinJSBridge) { pay(); }
  else { document.addEventListener("WeixinJSBridgeReady", pay, false); }
})();
