// The operator console's import progress page, without reloads: fetch the
// page every second and swap its card in until the report is there. Without
// script the page reloads itself (<noscript><meta http-equiv=refresh>).
(function () {
  "use strict";
  function done() { return document.getElementById("import-result") !== null; }
  function poll() {
    if (done()) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").querySelector("main .card");
        var card = document.querySelector("main .card");
        if (next && card) { card.replaceWith(next); }
        if (!done()) { setTimeout(poll, 1000); }
      })
      .catch(function () { window.location.reload(); });
  }
  setTimeout(poll, 1000);
})();
