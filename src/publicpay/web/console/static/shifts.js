// The closing count: the total and the difference as the cashier types (the server recomputes).
(function () {
  var form = document.getElementById("close-form");
  if (!form) return;
  var counted = document.getElementById("counted");
  var difference = document.getElementById("difference");
  var expected = parseInt(difference.getAttribute("data-expected"), 10);
  function yuan(fen) {
    var sign = fen < 0 ? "-" : "";
    fen = Math.abs(fen);
    var whole = Math.floor(fen / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return sign + "¥" + whole + "." + String(fen % 100).padStart(2, "0");
  }
  function update() {
    var total = 0;
    form.querySelectorAll("input[data-value]").forEach(function (input) {
      var n = parseInt(input.value, 10);
      if (n > 0) total += n * parseInt(input.getAttribute("data-value"), 10);
    });
    counted.textContent = yuan(total);
    var diff = total - expected;
    difference.textContent = diff === 0 ? "无差异" : (diff > 0 ? "长款 " + yuan(diff) : "短款 " + yuan(-diff));
    difference.className = diff === 0 ? "ok" : "error";
  }
  form.addEventListener("input", update);
  update();
})();
