// window POS (portal, issue 13): a payment form is sent once (a second tap does nothing); the
// QR page asks every second whether the payable is paid and shows the result by itself.
(function () {
  "use strict";
  document.querySelectorAll("form.once").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; b.textContent = "处理中…"; });
    });
  });
  var qr = document.getElementById("pos-qr");
  if (!qr) { return; }
  var code = qr.dataset.code;
  var left = parseInt(qr.dataset.seconds || "0", 10);
  var state = document.getElementById("qr-state");
  var countdown = document.getElementById("countdown");
  function tick() {
    left -= 1;
    if (left <= 0) {
      state.textContent = "二维码已过期，请点击“刷新二维码”";
      return;
    }
    countdown.textContent = "（" + Math.floor(left / 60) + "分" + (left % 60) + "秒内有效）";
    setTimeout(tick, 1000);
  }
  function poll() {
    fetch("/console/pos/status/" + code, { headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.paid) {
          state.textContent = "支付成功，正在显示结果…";
          window.location.assign("/console/pos/done/" + code);
          return;
        }
        if (left > 0) { setTimeout(poll, 1000); }
      })
      .catch(function () { if (left > 0) { setTimeout(poll, 2000); } });
  }
  tick();
  setTimeout(poll, 1000);
})();
