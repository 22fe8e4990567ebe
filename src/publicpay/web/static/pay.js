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
    const hints = {
      aggregate: "请使用支付宝、微信或云闪付扫码支付，支付完成后本页自动更新。",
      alipay: "请使用支付宝扫码支付，支付完成后本页自动更新。",
      wechat: "请使用微信扫码支付，支付完成后本页自动更新。",
      unionpay: "请使用云闪付或银行 App 扫码支付，支付完成后本页自动更新。",
    };
    document.getElementById("qr-hint").textContent = hints[channel] || hints.aggregate;
    document.getElementById("qr").src = `/pay/qr.svg?data=${encodeURIComponent(body.qr_code)}`;
    document.getElementById("qr").dataset.qrCode = body.qr_code;
    document.getElementById("qr").dataset.channel = channel;
    const label = channel === "aggregate" ? "聚合码编号" : "订单号";
    document.getElementById("order-no").textContent = `${label} ${body.order_no}`;
    document.getElementById("qr-box").hidden = false;
  }

  document.querySelectorAll("button.channel").forEach(function (button) {
    button.addEventListener("click", function () {
      openOrder(button.dataset.channel).catch(function () { showError("网络异常，请重试"); });
    });
  });

  // Wallet buttons: one tap opens the wallet; a second tap while it loads does nothing (the
  // server would reuse the same order anyway).
  document.querySelectorAll("form.wallet-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      const button = form.querySelector("button");
      if (button) { button.textContent = "正在打开…"; button.setAttribute("aria-busy", "true"); }
    });
  });

  const payBox = document.getElementById("pay-box");
  if (payBox && payBox.dataset.defaultChannel) {
    openOrder(payBox.dataset.defaultChannel).catch(function () { showError("网络异常，请重试"); });
  }

  // Paid while the page was open, or paid with the receipt still being issued: once the
  // receipt is ready, the page's content is fetched again and swapped in place (no navigation),
  // so it shows the receipt, its links and any refunds.
  async function refresh() {
    const response = await fetch(window.location.href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const main = fresh.querySelector("main.page");
    if (main) document.querySelector("main.page").replaceWith(main);
  }
  async function waitForReceipt() {
    try {
      const response = await fetch(`/api/v1/pay/${code}`);
      if (response.ok && (await response.json()).receipt_ready) {
        await refresh();
        return;
      }
    } catch (e) { /* keep polling */ }
    setTimeout(waitForReceipt, 1000);
  }
  if (document.getElementById("receipt-pending")) setTimeout(waitForReceipt, 1000);

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
          ["pay-box", "wallets", "wallet-back"].forEach(function (id) {
            const el = document.getElementById(id);
            if (el) el.hidden = true;
          });
          setTimeout(waitForReceipt, 300);
          return;
        }
      }
    } catch (e) { /* keep polling */ }
    setTimeout(poll, 1000);
  }
  setTimeout(poll, 1000);
})();
