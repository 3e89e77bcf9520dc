/* Wotu's small behaviours on top of server-rendered pages and htmx. No framework. */
(function () {
  "use strict";

  // The language switch returns to the page as it is now (htmx may have changed the URL).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("lang-switch")) return;
    var next = form.querySelector("input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search + window.location.hash;
  });

  // Searches leave empty filters out of the request, so the address bar stays readable.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.verb !== "get" || !event.detail.elt.closest("form[data-drop-empty]")) return;
    var parameters = event.detail.parameters;
    Array.from(parameters.keys ? parameters.keys() : Object.keys(parameters)).forEach(function (key) {
      var value = parameters.get ? parameters.get(key) : parameters[key];
      if (value === "" || value === null) {
        if (parameters.delete) parameters.delete(key); else delete parameters[key];
      }
    });
  });

  // Upload progress: the bar follows the upload, then says the rows are being checked.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target.closest && event.target.closest("[data-upload-progress]");
    if (!form || !event.detail.lengthComputable) return;
    var percent = Math.round((event.detail.loaded / event.detail.total) * 100);
    var bar = form.querySelector("[data-progress-bar]");
    var text = form.querySelector("[data-progress-text]");
    if (bar) bar.value = percent;
    if (text) text.textContent = percent < 100 ? text.dataset.uploading + " " + percent + "%" : text.dataset.checking;
  });

  // After htmx replaces the import panel, move focus to its outcome for screen readers.
  document.addEventListener("htmx:afterSwap", function (event) {
    var outcome = event.detail.target && document.querySelector("#import-panel .result");
    if (outcome) {
      outcome.setAttribute("tabindex", "-1");
      outcome.focus();
    }
  });

  // Forms with errors: bring the summary into view.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  });
})();
