// Progress bar for uploads. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
  // The form's own answer to a refused upload (D-081): its summary and each
  // field's message and state, copied into this page; then the focus goes to
  // the first field in error, as errors.js does on a page load.
  function showFieldErrors(page) {
    var summary = page.getElementById("error-summary");
    var here = document.getElementById("error-summary");
    if (!summary || !here) { return false; }
    here.replaceChildren.apply(here, Array.prototype.map.call(summary.childNodes, function (n) {
      return document.importNode(n, true);
    }));
    Array.prototype.forEach.call(document.querySelectorAll(".error-slot"), function (slot) {
      var theirs = page.getElementById(slot.id);
      slot.replaceChildren.apply(slot, theirs ? Array.prototype.map.call(theirs.childNodes, function (n) {
        return document.importNode(n, true);
      }) : []);
    });
    var first = null;
    Array.prototype.forEach.call(document.querySelectorAll("[data-validates]"), function (el) {
      var theirs = el.id ? page.getElementById(el.id) : null;
      ["aria-invalid", "aria-describedby"].forEach(function (name) {
        var value = theirs ? theirs.getAttribute(name) : null;
        if (value === null) { el.removeAttribute(name); } else { el.setAttribute(name, value); }
      });
      var field = el.closest(".field, fieldset");
      var invalid = el.getAttribute("aria-invalid") === "true";
      if (field) { field.classList.toggle("field-error", invalid); }
      if (invalid && !first) { first = el; }
    });
    if (first && !first.matches("input, select, textarea")) {
      first = first.querySelector("input:checked, input, select, textarea");
    }
    if (!first) { here.setAttribute("tabindex", "-1"); }
    (first || here).focus();
    return true;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    // The server answers 204 + X-Vault-Location rather than a redirect that
    // XHR would follow (and spend the confirmation message on).
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.hidden = false;
        bar.value = Math.round((e.loaded / e.total) * 100);
      }
    });
    xhr.addEventListener("load", function () {
      var next = xhr.getResponseHeader("X-Vault-Location");
      if (xhr.status === 204 && next) {
        window.location.assign(next);
        return;
      }
      if (xhr.status < 400 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      // An error page: show its messages in place, keep what was typed and the photos.
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      bar.hidden = true;
      button.disabled = false;
      if (showFieldErrors(page)) {
        status.textContent = "";
        return;
      }
      var notice = page.querySelector(".notice-error, .lead");
      status.textContent = notice ? notice.textContent.trim() : "";
    });
    xhr.addEventListener("error", function () {
      status.textContent = form.getAttribute("data-network-error") || "";
      bar.hidden = true;
      button.disabled = false;
    });
    button.disabled = true;
    xhr.send(new FormData(form));
  });
})();
