// counter console: the little behaviour the pages need, kept out of the HTML (CSP forbids inline script).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Put the keyboard where the work is: the first field with an error, else the first field of the step form.
  const invalid = document.querySelector("[aria-invalid='true']");
  const first = invalid || document.querySelector("form[data-step-form] :is(input, select, textarea):not([type=hidden])");
  if (first && !document.querySelector("[autofocus]")) { first.focus(); }
  // Buttons that print the page or a framed slip.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => {
      const target = button.getAttribute("data-print");
      const frame = target ? document.getElementById(target) : null;
      if (frame && frame.contentWindow) { frame.contentWindow.focus(); frame.contentWindow.print(); }
      else { window.print(); }
    });
  });
  // "Long-term" ticks off the date of a document that never expires.
  document.querySelectorAll("input[data-long-term-for]").forEach((box) => {
    const date = document.getElementById(box.getAttribute("data-long-term-for"));
    const sync = () => { if (date) { date.disabled = box.checked; } };
    box.addEventListener("change", sync);
    sync();
  });
});
