// Helpers shared by the dashboard (app.js) and the agent desktop (agent.js): building
// elements from text (never HTML), the CSRF cookie, API calls that throw the API's error, and
// the toast that shows what happened.
"use strict";
var hotlineWeb = (function () {
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else if (k.indexOf("on") === 0) e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (k) { if (k != null) e.appendChild(typeof k === "string" ? document.createTextNode(k) : k); });
    return e;
  }
  function cookie(name) {
    var m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  }
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = cookie("hotline_csrf");
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (r) {
      if (r.status === 204) return null;
      return r.json().then(function (j) {
        if (!r.ok) { var e = new Error((j && j.error && j.error.message) || r.statusText); e.status = r.status; throw e; }
        return j;
      });
    });
  }
  // toast shows a message in the page's #toast for 5 s; fail shows an error there.
  var toastTimer;
  function toast(msg, isError) {
    var b = document.querySelector("#toast");
    b.textContent = msg; b.className = "toast" + (isError ? " error" : ""); b.hidden = false;
    clearTimeout(toastTimer); toastTimer = setTimeout(function () { b.hidden = true; }, 5000);
  }
  function fail(e) { toast(e.message || String(e), true); }
  return { el: el, cookie: cookie, api: api, toast: toast, fail: fail };
})();
