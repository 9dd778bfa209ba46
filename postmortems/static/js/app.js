// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  // Keyboard: "n" files a new incident, "/" focuses the page's search box (outside text fields).
  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) return;
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (event.key === "/") {
      var search = document.querySelector("input[type=search]");
      if (search) { event.preventDefault(); search.focus(); }
    } else if (event.key === "n" && !document.querySelector("[data-no-shortcuts]")) {
      window.location.href = "/incidents/new/";
    }
  });
  // Ctrl/Cmd+Enter submits the form of the focused textarea.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.form) {
      event.preventDefault();
      if (event.target.form.requestSubmit) event.target.form.requestSubmit(); else event.target.form.submit();
    }
  });
  // "Copy" buttons next to read-only addresses (subscribe page); hidden without JavaScript.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () { button.textContent = "Copied"; });
    });
  });
})();
