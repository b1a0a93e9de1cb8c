// OAuth 2.0 Form Post Response Mode: submit the response to the client as soon
// as the page is ready. Served from /assets because the Content-Security-Policy
// forbids inline scripts; the page keeps a Continue button for when this does
// not run.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var form = document.forms[0];
  if (form) {
    form.submit();
  }
});
