// The type list follows the chosen category (D-080). Without JavaScript the
// list shows every category's types in groups, and the server files a type of
// another category under the chosen category's "other" type.
(function () {
  "use strict";
  var select = document.getElementById("doc_type");
  var radios = document.querySelectorAll("input[type=radio][name=category]");
  if (!select || !radios.length || !select.replaceChildren) { return; }
  // Every group, kept aside: the select shows one at a time.
  var groups = {};
  Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
    groups[group.getAttribute("data-category")] = group;
  });

  function show(radio) {
    var group = groups[radio.value];
    if (!group) { return; }
    var current = select.value;
    // Copies: the groups stay whole for the next change of category.
    var options = Array.prototype.map.call(group.querySelectorAll("option"), function (o) {
      return o.cloneNode(true);
    });
    var keep = options.some(function (o) { return o.value === current; });
    select.replaceChildren.apply(select, options);
    // A type of another category becomes this category's "other" type, as on the server.
    select.value = keep ? current : (radio.getAttribute("data-other-type") || options[options.length - 1].value);
  }

  Array.prototype.forEach.call(radios, function (radio) {
    radio.addEventListener("change", function () { if (radio.checked) { show(radio); } });
    if (radio.checked) { show(radio); }
  });
})();
