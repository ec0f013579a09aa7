// « Écouter »: reads the page's main text aloud with the browser's own speech
// synthesis, in the page's language (docs/rtl.md). Everything stays on the
// device: only voices the browser marks as local are used, nothing is sent
// anywhere. The button stays hidden (its `hidden` attribute) until a local
// voice for the page's language is found, so a device without one, or a
// browser without JavaScript, shows nothing that does not work.
(function () {
  "use strict";
  var button = document.getElementById("listen");
  var synth = window.speechSynthesis;
  if (!button || !synth || typeof window.SpeechSynthesisUtterance !== "function") { return; }
  var main = document.querySelector("main");
  var bar = button.closest(".listen-bar");
  var idle = button.querySelector("[data-listen-idle]");
  var busy = button.querySelector("[data-listen-busy]");
  var lang = (document.documentElement.lang || "fr").replace("_", "-");
  var speaking = false;
  var voice = null;

  // "ar" matches "ar-SA" and "ar_EG" (some Android voices); an exact match wins.
  function findVoice() {
    var primary = lang.split("-")[0].toLowerCase();
    var local = synth.getVoices().filter(function (v) {
      var code = (v.lang || "").replace("_", "-").toLowerCase();
      return v.localService && (code === lang.toLowerCase() || code.split("-")[0] === primary);
    });
    var exact = local.filter(function (v) { return v.lang.replace("_", "-").toLowerCase() === lang.toLowerCase(); });
    return exact[0] || local.filter(function (v) { return v.default; })[0] || local[0] || null;
  }

  // What a sighted person reads in <main>: its visible text (innerText skips
  // what is hidden), without the button itself.
  function mainText() {
    var parts = [];
    Array.prototype.forEach.call(main.children, function (el) {
      if (el === bar || el.contains(button)) { return; }
      var text = el.innerText.trim();
      if (text) { parts.push(text); }
    });
    return parts.join("\n");
  }

  function show(isSpeaking) {
    speaking = isSpeaking;
    idle.hidden = isSpeaking;
    busy.hidden = !isSpeaking;
  }

  function offer() {
    voice = findVoice();
    button.hidden = voice === null;
    if (voice === null && speaking) { synth.cancel(); show(false); }
  }

  button.addEventListener("click", function () {
    if (speaking) {
      synth.cancel();
      show(false);
      return;
    }
    var utterance = new window.SpeechSynthesisUtterance(mainText());
    utterance.lang = lang;
    if (voice) { utterance.voice = voice; }
    utterance.onend = utterance.onerror = function () { show(false); };
    synth.cancel();  // a reading left over from before starts afresh
    show(true);
    synth.speak(utterance);
  });

  // Voices load after the page in Chromium: ask again when they arrive.
  synth.addEventListener("voiceschanged", offer);
  // Leaving the page (or a kiosk closing the session) stops the reading.
  window.addEventListener("pagehide", function () { synth.cancel(); });
  offer();
})();
