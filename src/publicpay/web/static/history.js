// 我的缴费记录: one tap on "合并支付所选" opens one cart (a second tap while it loads does nothing);
// the cart page polls every payable of the cart until all are paid, then says so.
(function () {
  "use strict";
  const form = document.getElementById("cart-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      const button = document.getElementById("cart-pay");
      if (button) { button.textContent = "正在生成支付二维码…"; button.setAttribute("aria-busy", "true"); }
    });
  }
  const cart = document.getElementById("cart");
  if (!cart) return;
  const lines = Array.from(document.querySelectorAll(".cart-line"));
  async function poll() {
    let paid = 0;
    for (const line of lines) {
      try {
        const response = await fetch(`/api/v1/pay/${line.dataset.code}`);
        if (!response.ok) continue;
        const body = await response.json();
        line.querySelector(".line-status").textContent = body.status_label;
        if (body.status !== "unpaid") paid += 1;
      } catch (e) { /* keep polling */ }
    }
    if (paid === lines.length) {
      document.getElementById("cart-pay-box").hidden = true;
      document.getElementById("cart-done").hidden = false;
      return;
    }
    setTimeout(poll, 1500);
  }
  setTimeout(poll, 1000);
})();
