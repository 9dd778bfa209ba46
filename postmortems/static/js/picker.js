// Searchable picker for <select multiple data-picker>: type to filter, Arrow keys and Enter to
// pick, Backspace or a chip's × to remove. The select stays in the form (hidden) and carries the
// choice, so the page works the same without this file, as a plain multiple select.
// With data-picker-create="<id of a text input>", a name not in the list can be added: it is
// written into that input (comma-separated), which the server reads as new names.
(function () {
  "use strict";
  var counter = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text) node.textContent = text;
    return node;
  }

  function splitNames(value) {
    return (value || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function enhance(select) {
    var uid = "picker-" + (++counter);
    var field = select.closest(".field") || select.parentNode;
    var label = field.querySelector("label[for='" + select.id + "']");
    var createInput = select.dataset.pickerCreate ? document.getElementById(select.dataset.pickerCreate) : null;
    var createLabel = select.dataset.pickerCreateLabel || "Add “{}”";

    var box = el("div", { "class": "picker" });
    var chips = el("ul", { "class": "picker-chips", "aria-live": "polite" });
    var input = el("input", {
      type: "text", id: uid + "-input", "class": "picker-input", role: "combobox",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": uid + "-list",
      autocomplete: "off", placeholder: select.dataset.pickerPlaceholder || "Type to search…"
    });
    var described = select.getAttribute("aria-describedby");
    if (described) input.setAttribute("aria-describedby", described);
    var list = el("ul", { id: uid + "-list", "class": "picker-list", role: "listbox", "aria-label": "Suggestions" });
    list.hidden = true;
    var control = el("div", { "class": "picker-control" });
    control.appendChild(chips);
    control.appendChild(input);
    box.appendChild(control);
    box.appendChild(list);
    select.parentNode.insertBefore(box, select);
    select.hidden = true;
    select.setAttribute("tabindex", "-1");
    if (label) label.setAttribute("for", input.id);
    field.querySelectorAll(".picker-nojs").forEach(function (hint) {
      var holder = hint.parentNode;
      hint.hidden = true;
      // A help line that only said "Hold Ctrl" goes away entirely.
      if (holder && holder !== field && holder.textContent.trim() === hint.textContent.trim()) holder.hidden = true;
    });
    if (createInput) {
      var createField = createInput.closest(".field");
      if (createField) createField.hidden = true;
    }

    var active = -1;
    var shown = [];  // [{option, create}] currently listed

    function newNames() { return createInput ? splitNames(createInput.value) : []; }

    function renderChips() {
      chips.textContent = "";
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.selected) chips.appendChild(chip(option.textContent, function () {
          option.selected = false; refresh();
        }));
      });
      newNames().forEach(function (name) {
        chips.appendChild(chip(name + " (new)", function () {
          createInput.value = newNames().filter(function (n) { return n !== name; }).join(", ");
          refresh();
        }));
      });
    }

    function chip(text, remove) {
      var item = el("li", { "class": "picker-chip" });
      item.appendChild(el("span", {}, text));
      var button = el("button", { type: "button", "class": "picker-remove", "aria-label": "Remove " + text }, "×");
      button.addEventListener("click", function () { remove(); input.focus(); });
      item.appendChild(button);
      return item;
    }

    function renderList() {
      var query = input.value.trim().toLowerCase();
      list.textContent = "";
      shown = [];
      var exact = false;
      Array.prototype.forEach.call(select.options, function (option) {
        var text = option.textContent;
        var hay = (text + " " + option.value).toLowerCase();
        if (query && hay.indexOf(query) === -1) return;
        if (text.toLowerCase() === query || option.value.toLowerCase() === query) exact = true;
        shown.push({ option: option, text: text });
      });
      var typed = input.value.trim();
      if (createInput && typed && !exact && newNames().indexOf(typed) === -1) {
        shown.push({ create: typed, text: createLabel.replace("{}", typed) });
      }
      shown.forEach(function (entry, i) {
        var selected = entry.option ? entry.option.selected : false;
        var item = el("li", {
          id: uid + "-opt-" + i, role: "option", "class": "picker-option" + (entry.create ? " picker-create" : ""),
          "aria-selected": String(selected)
        }, entry.text);
        item.addEventListener("mousedown", function (event) { event.preventDefault(); });
        item.addEventListener("click", function () { choose(i); });
        list.appendChild(item);
      });
      if (!shown.length) list.appendChild(el("li", { "class": "picker-empty", role: "presentation" }, "No match"));
      if (active >= shown.length) active = shown.length - 1;
      highlight();
    }

    function highlight() {
      Array.prototype.forEach.call(list.querySelectorAll("[role=option]"), function (item, i) {
        item.classList.toggle("is-active", i === active);
      });
      if (active >= 0 && shown.length) {
        input.setAttribute("aria-activedescendant", uid + "-opt-" + active);
        var current = document.getElementById(uid + "-opt-" + active);
        if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      renderList();
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function choose(i) {
      var entry = shown[i];
      if (!entry) return;
      if (entry.create) {
        createInput.value = newNames().concat([entry.create]).join(", ");
      } else {
        entry.option.selected = !entry.option.selected;
      }
      input.value = "";
      active = -1;
      close();  // out of the way of what follows; typing or Arrow Down opens it again
      refresh();
    }

    function refresh() {
      renderChips();
      if (!list.hidden) renderList();
      select.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", function () { active = input.value.trim() ? 0 : -1; open(); });
    input.addEventListener("focus", open);
    input.addEventListener("blur", function () { close(); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) open();
        var step = event.key === "ArrowDown" ? 1 : -1;
        if (shown.length) active = (active + step + shown.length) % shown.length;
        highlight();
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0 && shown[active]) {
          event.preventDefault();
          choose(active);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) { event.preventDefault(); close(); }
      } else if (event.key === "Backspace" && !input.value) {
        var names = newNames();
        if (names.length) {
          createInput.value = names.slice(0, -1).join(", ");
        } else {
          var picked = Array.prototype.filter.call(select.options, function (o) { return o.selected; });
          if (picked.length) picked[picked.length - 1].selected = false;
        }
        refresh();
      }
    });
    renderChips();
  }

  function init(root) {
    (root || document).querySelectorAll("select[multiple][data-picker]").forEach(function (select) {
      if (!select.dataset.pickerReady) { select.dataset.pickerReady = "1"; enhance(select); }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(); });
  else init();
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
