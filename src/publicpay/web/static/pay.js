// Payer page: open an order at the chosen channel, show its QR, poll until paid.
(function () {
  "use strict";
  const box = document.getElementById("payable");
  if (!box) return;
  const code = box.dataset.code;
  const statusEl = document.getElementById("status");
  const errorEl = document.getElementById("pay-error");

  function showError(message) {
    if (!errorEl) return;
    errorEl.textContent = message;
    errorEl.hidden = false;
  }

  async function openOrder(channel) {
    errorEl && (errorEl.hidden = true);
    const response = await fetch(`/api/v1/pay/${code}/orders`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ channel: channel, method: "qr" }),
    });
    const body = await response.json();
    if (!response.ok) {
      showError(body.detail || body.title || "下单失败，请稍后重试");
      return;
    }
    document.getElementById("qr").src = `/pay/qr.svg?data=${encodeURIComponent(body.qr_code)}`;
    document.getElementById("qr").dataset.qrCode = body.qr_code;
    document.getElementById("order-no").textContent = `订单号 ${body.order_no}`;
    document.getElementById("qr-box").hidden = false;
  }

  document.querySelectorAll("button.channel").forEach(function (button) {
    button.addEventListener("click", function () {
      openOrder(button.dataset.channel).catch(function () { showError("网络异常，请重试"); });
    });
  });

  async function poll() {
    if (box.dataset.status !== "unpaid") return;
    try {
      const response = await fetch(`/api/v1/pay/${code}`);
      if (response.ok) {
        const body = await response.json();
        if (body.status !== "unpaid") {
          box.dataset.status = body.status;
          statusEl.textContent = body.status_label;
          statusEl.className = `status status-${body.status}`;
          const payBox = document.getElementById("pay-box");
          if (payBox) payBox.hidden = true;
          return;
        }
      }
    } catch (e) { /* keep polling */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
