// Portal cart page: poll every payable of the cart until all are paid, then say so.
(function () {
  "use strict";
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
