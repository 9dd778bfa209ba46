// Warn before leaving a page with unsaved changes in a form marked `data-warn-unsaved`.
// The page works without this file; it only adds the browser's "Leave site?" question.
// A form rendered again after a refused save carries `data-unsaved`: its text is not saved yet.
(function () {
  "use strict";
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-warn-unsaved]"));
  if (!forms.length) return;
  var dirty = forms.filter(function (form) { return form.hasAttribute("data-unsaved"); });
  var submitting = false;

  function note(form, text) {
    var el = form.querySelector("[data-unsaved-note]");
    if (el) el.textContent = text;
  }
  function markDirty(form) {
    if (dirty.indexOf(form) === -1) dirty.push(form);
    note(form, "You have unsaved changes.");
  }
  function formOf(target) {
    // Fields outside the form's element join it with form="id" (the reviewers picker).
    return target && target.form && forms.indexOf(target.form) !== -1 ? target.form : null;
  }

  document.addEventListener("input", function (event) {
    var form = formOf(event.target);
    if (form) markDirty(form);
  });
  document.addEventListener("change", function (event) {
    var form = formOf(event.target);
    if (form) markDirty(form);
  });
  // Saving this form is not leaving it; any other navigation (links, other forms) is.
  document.addEventListener("submit", function (event) {
    if (forms.indexOf(event.target) !== -1) submitting = true;
  });
  window.addEventListener("pageshow", function () { submitting = false; });
  window.addEventListener("beforeunload", function (event) {
    if (submitting || !dirty.length) return undefined;
    event.preventDefault();
    event.returnValue = "";  // older browsers need a value to show their own question
    return "";
  });
})();
