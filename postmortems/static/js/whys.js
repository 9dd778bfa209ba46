// The why session: the line under a level's corrective action says which defaults it starts with
// (due date and effort by severity and type); it follows the Type chosen. Works without this file.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-defaults-into]")) return;
    var option = select.options[select.selectedIndex];
    var line = document.getElementById(select.dataset.defaultsInto);
    if (option && line && option.dataset.defaults) line.textContent = option.dataset.defaults;
  });
})();
