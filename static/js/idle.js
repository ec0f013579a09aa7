// Kiosk idle countdown (docs/kiosk.md). On a kiosk network base.html carries
// the seconds left before the server ends the session for idleness; in the
// last minute this shows a countdown with « Je suis encore là ». When the time
// is up the page is emptied at once (nothing of the vault stays on a shared
// screen) and the same address is asked for again: the server, whose session
// has ended, answers with the sign-in page. Without this script nothing is
// shown and the server still ends the session (the next request signs out).
(function () {
  "use strict";
  var form = document.getElementById("idle-warning");
  if (!form || !window.fetch) { return; }
  var WARN_SECONDS = 60;
  // The server rounds up, and the page took time to arrive: this deadline is
  // never before the server's. One more second covers the server's clock step.
  var MARGIN_MS = 1000;
  var clock = form.querySelector("[data-idle-clock]");
  var deadline = 0;
  var timer = null;

  function setDeadline(secondsLeft) {
    deadline = Date.now() + secondsLeft * 1000;
  }

  function blankAndLeave() {
    window.clearInterval(timer);
    var ended = form.querySelector("[data-idle-ended]").textContent;
    // Everything goes, the header with the person's name included.
    var main = document.createElement("main");
    var message = document.createElement("p");
    message.textContent = ended;
    main.appendChild(message);
    document.body.replaceChildren(main);
    document.title = ended;
    window.setTimeout(function () {
      // A GET of the same address: the server refuses the ended session and
      // sends the sign-in page (with its « session ended » message).
      window.location.replace(window.location.pathname);
    }, MARGIN_MS);
  }

  function tick() {
    var left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) { blankAndLeave(); return; }
    clock.textContent = String(left);
    if (left <= WARN_SECONDS && form.hidden) { show(true); }
  }

  // The panel is fixed at the bottom of the screen: room below the page keeps
  // its last lines reachable above it.
  function show(visible) {
    form.hidden = !visible;
    document.body.style.paddingBottom = visible ? form.offsetHeight + "px" : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("refused"); }
      return response.json();
    }).then(function (answer) {
      setDeadline(answer.seconds_left);
      show(false);
      tick();
    }).catch(function () {
      // Already signed out (or the server is gone): leave as when time is up.
      blankAndLeave();
    });
  });

  setDeadline(Number(form.getAttribute("data-seconds-left")));
  timer = window.setInterval(tick, 1000);
  tick();
})();
