// The pages where a new secret phrase is chosen: "Show what I type" switches
// the phrase fields between hidden and shown text, and "Use this idea" puts
// the suggested phrase in both fields. A file, not an inline script (the CSP
// allows our own scripts only); without it the page works as a plain form and
// the suggestion stays on screen to copy.
(function () {
  "use strict";
  var fieldsOf = function (button, name) {
    return button.getAttribute(name).split(" ").map(function (id) {
      return document.getElementById(id);
    }).filter(function (field) { return field !== null; });
  };

  var reveal = document.getElementById("reveal-passphrase");
  if (reveal) {
    var revealed = fieldsOf(reveal, "data-reveal");
    var show = function (on) {
      reveal.setAttribute("aria-pressed", on ? "true" : "false");
      revealed.forEach(function (field) { field.type = on ? "text" : "password"; });
    };
    reveal.hidden = false;
    reveal.addEventListener("click", function () {
      show(reveal.getAttribute("aria-pressed") !== "true");
    });
    // Sent from password fields, never from text ones: a browser keeps what
    // was typed in text fields for its suggestions, on a shared kiosk too.
    var form = revealed.length ? revealed[0].form : null;
    if (form) { form.addEventListener("submit", function () { show(false); }); }
  }

  var use = document.getElementById("use-suggestion");
  var suggestion = document.getElementById("suggestion");
  if (use && suggestion) {
    var targets = fieldsOf(use, "data-fill");
    use.hidden = false;
    use.addEventListener("click", function () {
      var words = suggestion.textContent.trim();
      targets.forEach(function (field) {
        field.value = words;
        // The form's own checks (the error messages, if any) see the change.
        field.dispatchEvent(new Event("input", { bubbles: true }));
      });
      if (targets.length) { targets[0].focus(); }
    });
  }
})();
