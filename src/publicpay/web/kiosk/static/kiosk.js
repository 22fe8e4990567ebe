// Self-service kiosk (K1). One view at a time; every personal detail lives in this page and in
// sessionStorage only while a person is at the kiosk, and the idle timeout wipes both.
(function () {
  "use strict";
  const root = document.getElementById("kiosk");
  const AGENT = root.dataset.agent;
  const IDLE_S = Number(root.dataset.idle) || 60;
  const VERSION = "kiosk-web-1.0";
  const STORE = "pp_kiosk_session";  // sessionStorage key of the current person's listing
  const $ = (id) => document.getElementById(id);
  const views = ["start", "enter", "reading", "list", "pay", "done", "message"];
  let mode = "code";          // what the entry screen reads: code | record
  let listing = null;         // the current person's listing
  let chosen = new Set();     // payment codes picked to pay
  let paying = null;          // {order, codes, timer, poll, key, channel}
  let back = "start";         // where the message screen's 返回 goes
  let idleTimer = null, idleTick = null, idleLeft = IDLE_S;

  function show(name) {
    for (const v of views) $(v).hidden = v !== name;
    window.scrollTo(0, 0);
  }
  function yuan(fen) { return "¥" + (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 }); }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else if (k.startsWith("data-")) node.setAttribute(k, v); else node[k] = v;
    }
    for (const child of children) node.append(child);
    return node;
  }
  function message(text, title, returnTo) {
    $("message-title").textContent = title || "提示";
    $("message-text").textContent = text;
    back = returnTo || "start";
    show("message");
  }

  async function api(method, path, body, headers) {
    const init = { method, headers: Object.assign({ "X-Kiosk-Request": "1" }, headers || {}), credentials: "same-origin" };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    let response;
    try { response = await fetch(path, init); } catch (e) { throw new Error("网络连接中断，请稍后重试"); }
    if (!response.ok) {
      let detail = "系统繁忙，请稍后重试";
      try { const p = await response.json(); detail = p.detail || detail; } catch (e) { /* not JSON */ }
      const error = new Error(detail); error.status = response.status; throw error;
    }
    return response;
  }
  async function agent(method, path, body, type) {
    const init = { method };
    if (body !== undefined) { init.body = body; init.headers = { "Content-Type": type || "application/json" }; }
    const response = await fetch(AGENT + path, init);
    let answer = {};
    try { answer = await response.json(); } catch (e) { /* empty */ }
    answer.httpStatus = response.status;
    return answer;
  }

  // --- idle timeout: back to the start, nothing personal left on screen or in storage ---------
  function wipe() {
    stopPaying();
    listing = null; chosen = new Set();
    for (const id of ["unpaid", "receipts", "history", "pay-lines", "done-receipts"]) $(id).replaceChildren();
    for (const id of ["payer", "pay-total", "pay-count", "order-no", "chosen-total", "unpaid-count"]) $(id).textContent = "";
    $("enter-value").value = "";
    $("qr").removeAttribute("src"); $("qr-box").hidden = true;
    $("message-text").textContent = "";
    sessionStorage.clear();
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const key = localStorage.key(i);
      if (key && key.startsWith("pp_")) localStorage.removeItem(key);
    }
  }
  function home() { wipe(); show("start"); }
  const WARN_S = Math.min(10, IDLE_S);  // the last seconds are counted down on screen
  function touched() {
    clearTimeout(idleTimer); clearInterval(idleTick);
    $("idle-note").hidden = true; idleLeft = WARN_S;
    idleTimer = setTimeout(() => {
      if (!$("start").hidden && !listing) return touched();
      if (!$("pay").hidden && paying && paying.order) return touched();  // the QR's own countdown rules
      idleTick = setInterval(countIdle, 1000); showIdle();
    }, (IDLE_S - WARN_S) * 1000);
  }
  function showIdle() { $("idle-left").textContent = String(idleLeft); $("idle-note").hidden = false; }
  function countIdle() {
    idleLeft -= 1;
    if (idleLeft <= 0) { clearInterval(idleTick); $("idle-note").hidden = true; home(); touched(); return; }
    showIdle();
  }
  for (const event of ["pointerdown", "keydown", "input"]) document.addEventListener(event, touched, true);

  // --- start: ID card, payment code, payment record QR ---------------------------------------
  $("by-card").addEventListener("click", readCard);
  $("by-code").addEventListener("click", () => enter("code"));
  $("by-record").addEventListener("click", () => enter("record"));
  for (const button of document.querySelectorAll("[data-home]")) button.addEventListener("click", home);
  $("message-back").addEventListener("click", () => show(back));

  async function readCard() {
    show("reading");
    let card;
    try { card = await agent("POST", "/card/read"); } catch (e) {
      return message("读卡器未连接，请改用缴款码，或联系现场工作人员", "无法读取身份证");
    }
    if (card.status === "no_card") return message("未检测到身份证，请将身份证平放在读卡区后重试", "未读到身份证");
    if (card.status !== "ok") return message("未能读取身份证（" + (card.message || "卡片无法识别") + "），请重新放置或改用缴款码", "无法读取身份证");
    await lookup("id_card", card.id_no);
  }
  function enter(kind) {
    mode = kind;
    const record = kind === "record";
    $("enter-title").textContent = record ? "扫缴费记录二维码" : "输入缴款码";
    $("enter-hint").textContent = record ? "打开支付宝的缴费记录，将其中的二维码对准扫码器" : "请输入20位缴款码，或将通知书上的条码对准扫码器";
    $("keypad").hidden = record;
    $("enter-value").setAttribute("aria-label", record ? "缴费记录" : "缴款码");
    $("enter-value").value = "";
    show("enter");
    $("enter-value").focus();
  }
  $("keypad").addEventListener("click", (event) => {
    const key = event.target.dataset && event.target.dataset.key;
    if (!key) return;
    const input = $("enter-value");
    if (key === "清除") input.value = ""; else if (key === "删除") input.value = input.value.slice(0, -1);
    else if (input.value.replace(/\s/g, "").length < 20) input.value += key;
  });
  $("enter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("enter-value").value.trim();
    if (!value) return;
    if (mode === "code" && !/^\d{20}$/.test(value.replace(/\s/g, ""))) {
      return message("缴款码应为20位数字，请核对后重新输入", "缴款码有误", "enter");
    }
    lookup(mode, value);
  });

  async function lookup(by, value) {
    try {
      const response = await api("POST", "/kiosk/api/lookup", { by, value });
      listing = await response.json();
      sessionStorage.setItem(STORE, JSON.stringify(listing));
      renderList();
    } catch (e) {
      message(e.message, by === "record" ? "无法补打" : "查询未成功", by === "id_card" ? "start" : "enter");
    }
  }

  // --- the person's payables, receipts and history -------------------------------------------
  function renderList() {
    chosen = new Set(listing.payables.map((p) => p.payment_code));
    $("payer").textContent = listing.payer || "缴款人";
    const unpaid = listing.payables.map((p) => el("li", { "data-code": p.payment_code },
      el("label", { class: "pick" },
        el("input", { type: "checkbox", checked: true, value: p.payment_code }),
        el("span", { class: "what" }, el("b", {}, p.items), el("span", {}, p.unit + " · 缴款码 " + p.payment_code + (p.due_date ? " · 缴款期限 " + p.due_date : ""))),
        el("span", { class: "amt" }, yuan(p.amount_fen)))));
    $("unpaid").replaceChildren(...unpaid);
    $("unpaid-empty").hidden = unpaid.length > 0;
    $("pay-bar").hidden = unpaid.length === 0;
    $("unpaid-count").textContent = unpaid.length ? "（" + unpaid.length + " 笔）" : "";
    $("receipts").replaceChildren(...listing.receipts.map(receiptRow));
    $("receipts-empty").hidden = listing.receipts.length > 0;
    $("history").replaceChildren(...listing.history.map((h) => el("li", {},
      el("span", { class: "what" }, el("b", {}, h.items), el("span", {}, h.unit + (h.paid_at ? " · " + h.paid_at : ""))),
      el("span", { class: "tag" }, h.status_label), el("span", { class: "amt" }, yuan(h.amount_fen)))));
    $("history-empty").hidden = listing.history.length > 0;
    updateChosen();
    show("list");
  }
  function receiptRow(r) {
    const button = el("button", { type: "button", class: "print", textContent: r.print_count ? "重新打印" : "打印" });
    const state = el("span", { class: "state" }, r.print_count ? el("span", { class: "tag" }, "已打印 " + r.print_count + " 次") : "");
    button.addEventListener("click", () => printReceipt(r, button, state));
    return el("li", { "data-receipt": r.code + "-" + r.number },
      el("span", { class: "what" }, el("b", {}, r.items), el("span", {}, r.unit + " · 票据号 " + r.code + "-" + r.number + " · " + r.issued_at)),
      el("span", { class: "amt" }, yuan(r.total_fen)), state, button);
  }
  $("unpaid").addEventListener("change", (event) => {
    if (event.target.type !== "checkbox") return;
    if (event.target.checked) chosen.add(event.target.value); else chosen.delete(event.target.value);
    updateChosen();
  });
  function updateChosen() {
    const picked = listing.payables.filter((p) => chosen.has(p.payment_code));
    $("chosen-count").textContent = String(picked.length);
    $("chosen-total").textContent = yuan(picked.reduce((sum, p) => sum + p.amount_fen, 0));
    $("to-pay").disabled = picked.length === 0;
  }

  // --- pay: one QR for every picked payable, with a countdown --------------------------------
  $("to-pay").addEventListener("click", () => {
    const picked = listing.payables.filter((p) => chosen.has(p.payment_code));
    paying = { codes: picked.map((p) => p.payment_code), key: crypto.randomUUID(), channel: null };
    $("pay-total").textContent = yuan(picked.reduce((s, p) => s + p.amount_fen, 0));
    $("pay-count").textContent = String(picked.length);
    $("pay-lines").replaceChildren(...picked.map((p) => el("li", {}, el("span", { class: "what" }, p.items + " · " + p.unit), el("span", { class: "amt" }, yuan(p.amount_fen)))));
    $("qr-box").hidden = true;
    for (const w of document.querySelectorAll(".wallet")) w.classList.remove("on");
    show("pay");
    openQr("aggregate");  // one code any wallet can pay; a wallet's own code one tap away
  });
  $("wallets").addEventListener("click", (event) => {
    const channel = event.target.dataset && event.target.dataset.channel;
    if (channel) openQr(channel);
  });
  async function openQr(channel) {
    if (!paying || paying.busy) return;
    if (paying.channel !== channel) { paying.key = crypto.randomUUID(); paying.channel = channel; }
    paying.busy = true;  // a second tap while the first is on its way opens nothing more
    for (const w of document.querySelectorAll(".wallet")) w.classList.toggle("on", w.dataset.channel === channel);
    try {
      const response = await api("POST", "/kiosk/api/pay", { payment_codes: paying.codes, channel }, { "Idempotency-Key": paying.key });
      const order = await response.json();
      paying.order = order;
      $("qr").src = "/pay/qr.svg?data=" + encodeURIComponent(order.qr_code);
      $("qr").dataset.qr = order.qr_code;
      $("order-no").textContent = "订单号 " + order.order_no;
      $("qr-box").hidden = false;
      startCountdown(new Date(order.expires_at));
      startPolling();
    } catch (e) {
      message(e.message, "无法发起支付", "list");
    } finally { if (paying) paying.busy = false; }
  }
  function startCountdown(until) {
    clearInterval(paying.timer);
    const tick = () => {
      const left = Math.max(0, Math.round((until - Date.now()) / 1000));
      $("countdown").textContent = String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) { stopPaying(); message("付款二维码已过期，未扣款。如需缴款请重新选择", "二维码已过期", "list"); }
    };
    tick(); paying.timer = setInterval(tick, 1000);
  }
  function startPolling() {
    clearInterval(paying.poll);
    const codes = paying.codes.join(",");
    paying.poll = setInterval(async () => {
      try {
        const state = await (await api("GET", "/kiosk/api/status?codes=" + codes)).json();
        if (state.payables.every((p) => p.paid)) { const paid = paying.codes; stopPaying(); touched(); afterPayment(paid); }
      } catch (e) { /* keep polling: the payment may still arrive */ }
    }, 1000);
  }
  function stopPaying() {
    if (!paying) return;
    clearInterval(paying.timer); clearInterval(paying.poll); paying = null;
  }
  $("pay-cancel").addEventListener("click", () => { stopPaying(); show("list"); });

  // --- after payment: receipts as they are issued, print them --------------------------------
  function afterPayment(codes) {
    $("done-lead").textContent = "正在开具财政电子票据，请稍候…";
    $("done-receipts").replaceChildren();
    $("print-all").disabled = true;
    show("done");
    let rounds = 0;
    const wait = setInterval(async () => {
      rounds += 1;
      try {
        const state = await (await api("GET", "/kiosk/api/status?codes=" + codes.join(","))).json();
        if (state.payables.every((p) => p.receipt) || rounds > 60) {
          clearInterval(wait);
          showIssued(state.payables.filter((p) => p.receipt), codes);
        }
      } catch (e) { if (rounds > 60) clearInterval(wait); }
    }, 1000);
  }
  function showIssued(paid, codes) {
    const byCode = new Map((listing ? listing.payables : []).map((p) => [p.payment_code, p]));
    const rows = paid.map((p) => {
      const known = byCode.get(p.payment_code) || { items: "缴款码 " + p.payment_code, unit: "", amount_fen: 0 };
      return receiptRow(Object.assign({}, known, p.receipt, { total_fen: known.amount_fen, issued_at: "刚刚开具", print_count: 0 }));
    });
    $("done-receipts").replaceChildren(...rows);
    $("done-lead").textContent = rows.length === codes.length
      ? "已缴 " + codes.length + " 笔，票据已开具，请打印" : "部分票据仍在开具中，可稍后在本机或手机缴款页面打印";
    $("print-all").disabled = rows.length === 0;
  }
  $("print-all").addEventListener("click", async () => {
    $("print-all").disabled = true;
    for (const button of $("done-receipts").querySelectorAll("button.print")) if (!button.disabled) await button.click();
  });

  async function printReceipt(r, button, state) {
    button.disabled = true;
    let status;
    try { status = await agent("GET", "/status"); } catch (e) { status = { printer: "offline" }; }
    await heartbeat(status);  // the platform refuses to count a print on a stale paper state
    if (status.printer !== "ok" || status.paper === "out") {
      button.disabled = false;
      return message("本机打印机" + (status.paper === "out" ? "缺纸" : "暂不可用") + "，暂不能打印。票据已开具，可稍后再来打印（开具后6个月内），或在手机缴款页面下载电子票据",
        "暂不能打印", $("done").hidden ? "list" : "done");
    }
    try {
      const response = await api("POST", "/kiosk/api/print", { code: r.code, number: r.number });
      const count = response.headers.get("X-Print-Count");
      const pdf = await response.blob();
      const printed = await agent("POST", "/print", pdf, "application/pdf");
      if (printed.status !== "printed") throw new Error(printed.message || "打印失败，请联系现场工作人员");
      state.replaceChildren(el("span", { class: "printed" }, "已打印" + (count > 1 ? "（第 " + count + " 次，重打）" : "")));
      button.textContent = "重新打印";
    } catch (e) {
      message(e.message, "打印未完成", $("done").hidden ? "list" : "done");
    } finally { button.disabled = false; }
  }

  // --- heartbeat: the agent's printer state, every 30 s --------------------------------------
  async function heartbeat(known) {
    let status = known;
    if (!status) { try { status = await agent("GET", "/status"); } catch (e) { status = { printer: "offline", paper: "ok" }; } }
    const printer = ["ok", "error", "offline"].includes(status.printer) ? status.printer : "offline";
    const paper = ["ok", "low", "out"].includes(status.paper) ? status.paper : "ok";
    try { await api("POST", "/kiosk/api/heartbeat", { printer, paper, version: VERSION }); } catch (e) {
      if (e.status === 401 || e.status === 403) window.location.reload();  // revoked: the page says so
    }
  }
  heartbeat(); setInterval(heartbeat, 30000);
  if (sessionStorage.getItem(STORE)) sessionStorage.removeItem(STORE);  // a reload starts afresh
  touched(); show("start");
})();
