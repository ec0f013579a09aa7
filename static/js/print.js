// « Imprimer » on a sheet shown as a page on a kiosk (docs/kiosk.md): the
// browser's own print dialog, nothing downloaded. Without this script the
// button stays hidden and the browser's menu still prints the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
