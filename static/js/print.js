// The printable pages of a kiosk (CV, cover letter): a "Print" button, shown only
// when this script runs; without it, the browser's own print menu does the same.
(function () {
  "use strict";
  document.querySelectorAll(".print-button").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
