// The query workbench at /sparql. The page works without this file; it only adds shortcuts.
// A file of its own, not an inline script, so that a strict Content-Security-Policy allows it.
//  - Choosing an example question puts its text in the editor.
//  - Ctrl+Enter (Cmd+Enter on a Mac) in the editor runs the query.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("workbench");
  const picker = document.getElementById("example");
  const query = document.getElementById("query");
  if (!form || !picker || !query) {
    return;
  }
  picker.addEventListener("change", () => {
    if (picker.value) {
      query.value = picker.value;
      query.focus();
    }
  });
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
});
