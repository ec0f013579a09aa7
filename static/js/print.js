// « Imprimer » on a page made to be printed on a kiosk (docs/kiosk.md): the
// activation and recovery sheets, the CV and the cover letter. The browser's own
// print dialog, nothing downloaded. Without this script the button stays hidden
// and the browser's menu still prints the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-print], .print-button").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
