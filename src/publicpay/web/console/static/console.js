// Console behaviour without inline script (the Content-Security-Policy allows none):
// forms with data-confirm ask first; data-replace-url replaces the address shown (a page that
// showed a new secret must not repeat its POST on reload).
(function () {
  "use strict";
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  var replace = document.querySelector("[data-replace-url]");
  if (replace) window.history.replaceState(null, "", replace.dataset.replaceUrl);
})();
// statistics (issue 10): a background export's page polls its progress until the file is ready.
(function () {
  "use strict";
  var job = document.querySelector("[data-poll]");
  if (!job) return;
  function poll() {
    fetch(job.dataset.poll, { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        document.getElementById("progress").value = s.percent;
        document.getElementById("percent").textContent = s.percent + "%";
        document.getElementById("status").textContent = s.label;
        document.getElementById("done-rows").textContent = s.done_rows;
        if (s.status === "done") document.getElementById("download").hidden = false;
        else if (s.status !== "failed") window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  poll();
})();
