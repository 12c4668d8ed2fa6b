// Small enhancements; every page works without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll("input[name=ids]")) box.checked = all.checked;
    });
  }
});
