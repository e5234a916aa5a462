/* Progressive enhancement only: every page works without this file.
   Filter and "as of" forms marked .autosubmit are submitted as soon as a select, checkbox or date changes. */
(function () {
  "use strict";
  function onChange(event) {
    var field = event.target;
    if (!field.form || !field.form.classList.contains("autosubmit")) { return; }
    if (field.type === "text" || field.type === "search") { return; }
    if (field.type === "date" && field.value && !/^\d{4}-\d{2}-\d{2}$/.test(field.value)) { return; }
    field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
  }
  document.addEventListener("change", onChange);
})();
