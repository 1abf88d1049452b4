// socmon: small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Blurred (abusive) text: click to reveal, click again to hide.
  document.addEventListener("click", function (event) {
    var el = event.target.closest(".blur");
    if (el) { el.classList.toggle("revealed"); }
  });
  // Confirm destructive buttons.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  var tickAll = document.getElementById("tick-all");
  if (tickAll) {
    tickAll.addEventListener("change", function () {
      document.querySelectorAll('#queue-list input[name="ids"]').forEach(function (box) { box.checked = tickAll.checked; });
    });
  }
  // Keyboard shortcuts (ignored while typing in a field).
  var rows = Array.prototype.slice.call(document.querySelectorAll("#queue-list li.row"));
  var current = -1;
  function focusRow(i) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (r) { r.classList.remove("focus"); });
    rows[current].classList.add("focus");
    rows[current].scrollIntoView({ block: "nearest" });
  }
  function click(selector) { var el = document.querySelector(selector); if (el) { el.click(); } }
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    if (key === "j") { focusRow(current + 1); }
    else if (key === "k") { focusRow(current - 1); }
    else if ((key === "o" || key === "Enter") && current >= 0) { window.location = rows[current].getAttribute("data-href"); }
    else if (key === "x" && current >= 0) { var box = rows[current].querySelector('input[type="checkbox"]'); if (box) { box.checked = !box.checked; } }
    else if (key === "/") { var s = document.getElementById("search"); if (s) { event.preventDefault(); s.focus(); } }
    else if (key === "c") { click("#act-claim"); }
    else if (key === "h") { click("#act-hide"); }
    else if (key === "n") { var n = document.getElementById("note-body"); if (n) { event.preventDefault(); n.focus(); } }
    else if (key === "u") { click("#back-to-queue"); }
    else { return; }
  });
}());
