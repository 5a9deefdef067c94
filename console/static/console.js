// The approval queue's keys (j/k move, a approves, r rejects the item in focus) and
// focus kept across htmx's live updates. Everything also works with Tab and Enter.
(function () {
  "use strict";
  var focusedHold = null;

  function items() {
    return Array.prototype.slice.call(document.querySelectorAll("article.item[data-hold]"));
  }

  function current() {
    var el = document.activeElement;
    return el && el.closest ? el.closest("article.item") : null;
  }

  function move(step) {
    var all = items();
    if (!all.length) return;
    var at = all.indexOf(current());
    var next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
    all[next].focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    if (!document.getElementById("queue")) return;
    var item = current();
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if ((event.key === "a" || event.key === "r") && item) {
      var button = item.querySelector(event.key === "a" ? "button.approve" : "button.reject");
      if (button) { button.click(); event.preventDefault(); }
    }
  });

  // A live update replaces the list: put the focus back on the same item (or the one after it).
  document.addEventListener("htmx:beforeSwap", function () {
    var item = current();
    focusedHold = item ? item.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedHold) return;
    var again = document.getElementById(focusedHold);
    if (again) { again.focus(); return; }
    var first = items()[0];
    if (first) first.focus();
  });
})();
