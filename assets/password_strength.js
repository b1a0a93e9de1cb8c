// The set-password page's strength meter: ticks each rule of the password
// policy (DESIGN.md §5) and shows "Too weak", "Medium" or "Strong" as the
// person types. A convenience only: the server checks the policy again.
// Served from /assets because the Content-Security-Policy forbids inline
// scripts; without it the page still shows the policy and works.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("password");
  var strength = document.getElementById("strength");
  var meter = document.getElementById("strength-meter");
  var label = document.getElementById("strength-label");
  if (!input || !strength || !meter || !label) {
    return;
  }
  var allowed = /^[A-Za-z0-9#!.@_\-\/]*$/;
  // Keyed by the server's rule codes (security::Rule::code).
  var rules = {
    too_short: function (chars, text) { return chars.length >= 8; },
    missing_lowercase: function (chars, text) { return /[a-z]/.test(text); },
    missing_uppercase: function (chars, text) { return /[A-Z]/.test(text); },
    missing_digit: function (chars, text) { return /[0-9]/.test(text); },
    missing_special: function (chars, text) { return /[#!.@_\-\/]/.test(text); },
    forbidden_character: function (chars, text) { return allowed.test(text); }
  };
  var items = document.querySelectorAll("[data-rule]");
  function update() {
    var text = input.value;
    var chars = Array.from(text);
    var met = chars.length <= 128;
    items.forEach(function (item) {
      var check = rules[item.getAttribute("data-rule")];
      var ok = check ? check(chars, text) : true;
      met = met && ok;
      item.querySelector(".mark").textContent = text === "" ? "" : (ok ? "\u2713" : "\u2717");
    });
    var level = met ? (chars.length >= 10 ? 2 : 1) : 0;
    meter.value = level;
    label.textContent = ["Too weak", "Medium", "Strong"][level];
  }
  strength.hidden = false;
  input.addEventListener("input", update);
  update();
});
