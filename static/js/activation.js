// The activation sheet's QR code opens /activer#u=<username>&c=<code>: the
// fragment never reaches the server or its logs. Fill the form from it, then
// drop it from the address bar (a shared kiosk keeps history).
(function () {
  "use strict";
  var hash = window.location.hash.replace(/^#/, "");
  if (!hash) { return; }
  var params = new URLSearchParams(hash);
  var form = document.getElementById("activation-form");
  if (!form) { return; }
  if (params.get("u")) { form.elements.username.value = params.get("u"); }
  if (params.get("c")) { form.elements.code.value = params.get("c"); }
  history.replaceState(null, "", window.location.pathname);
})();
