// The example picker of /sparql: choosing a question puts its text in the query box.
// A file of its own, not an inline script, so that a strict Content-Security-Policy allows it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const picker = document.getElementById("example");
  const query = document.getElementById("query");
  if (!picker || !query) {
    return;
  }
  picker.addEventListener("change", () => {
    if (picker.value) {
      query.value = picker.value;
    }
  });
});
