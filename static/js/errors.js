// After a refused form, the focus goes to the first field in error (D-081), so
// that a screen reader reads its message and a keyboard or touch user is there.
(function () {
  "use strict";
  var first = document.querySelector("main [aria-invalid=true]");
  if (!first) { return; }
  // A group of choices (the categories) is not focusable itself: its first choice is.
  if (!first.matches("input, select, textarea, button")) {
    first = first.querySelector("input:checked, input, select, textarea") || first;
  }
  first.focus();
})();
