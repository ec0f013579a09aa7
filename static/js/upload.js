// Progress bar for uploads. Without JavaScript the form posts normally.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("upload-progress");
  var status = document.getElementById("upload-status");
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
      // An error page: show its message in place, keep what was typed.
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var notice = page.querySelector(".notice-error, .lead");
      status.textContent = notice ? notice.textContent.trim() : "";
      bar.hidden = true;
      button.disabled = false;
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
