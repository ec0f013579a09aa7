// "Copy the address" on the page that shows a new link once. A file, not an
// inline script: the CSP allows scripts from our own origin only.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    var done = function () { button.textContent = button.getAttribute("data-done"); };
    var fallback = function () {
      field.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the field stays selected */ }
    };
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
})();
