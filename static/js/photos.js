// Photos of a paper, one per page (D-082): each photo taken is added to the
// list, shown before saving (an object URL: nothing goes to the server until
// the form is sent), and can be taken again or removed. The list is put back
// into the form's file input, so upload.js, or the browser without it, sends
// every page; the server makes them one PDF. Without JavaScript, choosing
// several photos at once in the camera or gallery works the same.
(function () {
  "use strict";
  var box = document.getElementById("photo-field");
  var input = document.getElementById("photos");
  var retake = document.getElementById("photo-retake");
  var list = document.getElementById("photo-pages");
  var count = document.getElementById("photo-count");
  if (!box || !input || !retake || !list || !window.DataTransfer || !window.URL) { return; }
  try { new DataTransfer(); } catch (e) { return; }  // old browsers: the plain input works
  var max = parseInt(box.getAttribute("data-max-photos"), 10) || 10;
  var pages = [];
  var urls = [];
  var retakeIndex = -1;

  function label(name, n) {
    return (box.getAttribute(name) || "").replace("{n}", String(n));
  }

  function sync() {
    var transfer = new DataTransfer();
    pages.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    render();
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "button button-secondary";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  function render() {
    urls.forEach(function (url) { URL.revokeObjectURL(url); });
    urls = [];
    list.replaceChildren();
    pages.forEach(function (file, index) {
      var item = document.createElement("li");
      item.className = "photo-page";
      var img = document.createElement("img");
      var url = URL.createObjectURL(file);
      urls.push(url);
      img.src = url;
      img.alt = label("data-page-label", index + 1);
      var caption = document.createElement("p");
      caption.className = "photo-caption";
      caption.textContent = label("data-page-label", index + 1);
      var actions = document.createElement("div");
      actions.className = "actions";
      var again = button(box.getAttribute("data-retake-label"), function () {
        retakeIndex = index;
        retake.click();
      });
      again.setAttribute("aria-label", box.getAttribute("data-retake-label") + " (" + caption.textContent + ")");
      var remove = button(box.getAttribute("data-remove-label"), function () {
        pages.splice(index, 1);
        sync();
        input.focus();
      });
      remove.setAttribute("aria-label", box.getAttribute("data-remove-label") + " (" + caption.textContent + ")");
      actions.append(again, remove);
      item.append(img, caption, actions);
      list.append(item);
    });
    list.hidden = pages.length === 0;
    if (pages.length === 0) {
      count.textContent = "";
    } else if (pages.length === 1) {
      count.textContent = box.getAttribute("data-count-one-label");
    } else {
      count.textContent = label("data-count-label", pages.length);
    }
  }

  input.addEventListener("change", function () {
    // The browser replaced the input's files with the new choice: add them to the pages.
    var chosen = Array.prototype.slice.call(input.files);
    if (chosen.length === pages.length && chosen.every(function (f, i) { return f === pages[i]; })) {
      return;  // our own sync
    }
    var room = max - pages.length;
    pages = pages.concat(chosen.slice(0, Math.max(room, 0)));
    sync();
    if (chosen.length > room) { count.textContent = box.getAttribute("data-too-many-label"); }
  });

  retake.hidden = false;  // still out of sight (class file-hidden), but clickable
  retake.addEventListener("change", function () {
    if (retake.files.length && retakeIndex >= 0 && retakeIndex < pages.length) {
      pages[retakeIndex] = retake.files[0];
      sync();
    }
    retake.value = "";
    retakeIndex = -1;
  });
})();
