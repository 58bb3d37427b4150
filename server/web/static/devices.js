// Filter forms of the monitoring and audit pages: choosing from a drop-down or ticking a box
// searches at once, so the table always matches what the filters show.
(function () {
  "use strict";
  document.querySelectorAll("form.filters select, form.filters input[type=checkbox]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });
})();
