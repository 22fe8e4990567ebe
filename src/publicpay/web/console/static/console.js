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
