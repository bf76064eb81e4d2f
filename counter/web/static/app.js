// counter console: the little behaviour the pages need, kept out of the HTML (CSP forbids inline script).
"use strict";
(() => {
  const BACKGROUND = { "X-Counter-Background": "1" }; // polling must not keep an idle session alive
  const POLL_MS = 4000;

  const visible = (element) => !element.closest("[hidden]") && !element.disabled;
  const fields = (root) => Array.from(root.querySelectorAll("input, select, textarea"))
    .filter((el) => el.type !== "hidden" && visible(el));

  // Put the keyboard where the work is: the first field in error, else the first empty field of
  // the step form, else the page's next action (the slip, the waiting note); never a cancel reason.
  function placeFocus(root) {
    if (document.querySelector("[autofocus]")) { return; }
    const invalid = root.querySelector("input[aria-invalid='true'], select[aria-invalid='true'], [aria-invalid='true'] input");
    if (invalid && visible(invalid)) { focusField(invalid); return; }
    const form = root.querySelector("form[data-step-form]");
    if (form) {
      const all = fields(form);
      const typed = all.filter((el) => el.type !== "radio" && el.type !== "checkbox");
      const first = typed.find((el) => !el.value) || typed[0] || all[0];
      if (first) { focusField(first); return; }
    }
    const next = root.querySelector("[data-next-action]");
    if (next) { next.focus(); }
  }

  // A radio group takes the focus on its checked radio (or its first), as the keyboard would.
  function focusField(element) {
    if (element.type === "radio") {
      const group = document.querySelectorAll(`input[type=radio][name="${CSS.escape(element.name)}"]`);
      const checked = Array.from(group).find((radio) => radio.checked);
      (checked || element).focus();
      return;
    }
    element.focus();
  }

  // Fields shown only while another field has a value (data-shown-if='{"acting_as": "agent"}').
  function syncShown(root) {
    root.querySelectorAll("[data-shown-if]").forEach((wrapper) => {
      const form = wrapper.closest("form");
      if (!form) { return; }
      let rule;
      try { rule = JSON.parse(wrapper.getAttribute("data-shown-if")); } catch (e) { return; }
      const show = Object.entries(rule).every(([name, wanted]) => {
        const options = (Array.isArray(wanted) ? wanted : [wanted]).map(String);
        const chosen = form.querySelector(`[name="${CSS.escape(name)}"]:checked`) || form.querySelector(`select[name="${CSS.escape(name)}"]`);
        return chosen ? options.includes(chosen.value) : false;
      });
      wrapper.hidden = !show;
      wrapper.querySelectorAll("input, select, textarea").forEach((el) => { el.disabled = !show; });
    });
  }

  function formatLeft(ms) {
    const seconds = Math.max(0, Math.round(ms / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  }

  function startCountdowns(root) {
    root.querySelectorAll("[data-countdown]").forEach((element) => {
      const until = Date.parse(element.getAttribute("data-countdown"));
      if (Number.isNaN(until)) { return; }
      const tick = () => {
        const left = until - Date.now();
        if (left <= 0) {
          element.textContent = element.getAttribute("data-expired-text") || "";
          element.classList.add("expired");
          return;
        }
        element.textContent = `(${formatLeft(left)})`;
        window.setTimeout(tick, 1000);
      };
      tick();
    });
  }

  function init(root) {
    syncShown(root);
    placeFocus(root);
    startCountdowns(root);
    // Buttons that print the page or a framed slip.
    root.querySelectorAll("[data-print]").forEach((button) => {
      button.addEventListener("click", () => {
        const target = button.getAttribute("data-print");
        const frame = target ? document.getElementById(target) : null;
        if (frame && frame.contentWindow) { frame.contentWindow.focus(); frame.contentWindow.print(); }
        else { window.print(); }
      });
    });
    // "Long-term" ticks off the date of a document that never expires.
    root.querySelectorAll("input[data-long-term-for]").forEach((box) => {
      const date = document.getElementById(box.getAttribute("data-long-term-for"));
      const sync = () => { if (date) { date.disabled = box.checked; } };
      box.addEventListener("change", sync);
      sync();
    });
    // The whole workflow is drawn only when asked for.
    root.querySelectorAll("details[data-diagram]").forEach((details) => {
      details.addEventListener("toggle", () => {
        const image = details.querySelector("img[data-src]");
        if (details.open && image && !image.getAttribute("src")) {
          image.setAttribute("src", image.getAttribute("data-src"));
          image.hidden = false;
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    init(document);

    document.addEventListener("change", (event) => {
      if (event.target.closest && event.target.closest("form")) { syncShown(document); }
    });

    // Enter on a checkbox or radio submits its form, as it does in a text field.
    document.addEventListener("keydown", (event) => {
      const target = event.target;
      if (event.key === "Enter" && target instanceof HTMLInputElement
          && (target.type === "checkbox" || target.type === "radio") && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
        return;
      }
      // Alt + a letter: the links and buttons that declare it (listed at the foot of the page).
      // By the key's place (event.code), since Alt+letter types another character on some keyboards.
      if (event.altKey && !event.ctrlKey && !event.metaKey && /^Key[A-Z]$/.test(event.code)) {
        const letter = event.code.slice(3).toLowerCase();
        const shortcut = document.querySelector(`[data-shortcut="${letter}"]`);
        if (shortcut) { event.preventDefault(); shortcut.click(); }
      }
    });

    // Links of the error summary move the focus to their field (a radio group: its radio).
    document.addEventListener("click", (event) => {
      const link = event.target.closest && event.target.closest("a[data-focus-link]");
      if (!link) { return; }
      const target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) { event.preventDefault(); focusField(target); }
    });

    // Steps that end a case, and a resend that voids the code out, ask first.
    document.addEventListener("submit", (event) => {
      const button = event.submitter || event.target.querySelector("[data-confirm]");
      const question = button && button.getAttribute("data-confirm");
      if (question && !window.confirm(question)) { event.preventDefault(); return; }
      event.target.querySelectorAll("button[type=submit]").forEach((b) => { b.dataset.busy = "1"; });
    });

    startLive();
  });

  // Live pages: poll a cheap JSON endpoint; when the journal moved, fetch the page and swap
  // its main content in, unless the reader has typed something, which a swap would lose.
  function startLive() {
    const main = document.querySelector("main[data-live-url]");
    if (!main) { return; }
    let seen = main.getAttribute("data-live-seen") || "0";
    let typed = false;
    main.addEventListener("input", () => { typed = true; });
    const poll = async () => {
      if (document.hidden) { window.setTimeout(poll, POLL_MS); return; }
      try {
        const url = `${main.getAttribute("data-live-url")}?seen=${encodeURIComponent(seen)}`;
        const answer = await fetch(url, { headers: BACKGROUND, credentials: "same-origin", redirect: "manual" });
        if (answer.status !== 200) { return; } // signed out or gone: stop polling
        const state = await answer.json();
        if (state.changed) {
          if (typed) { showStale(main); window.setTimeout(poll, POLL_MS); return; }
          const swapped = await swap(main);
          if (!swapped) { return; }
          seen = String(state.seq);
        }
      } catch (e) { /* offline for a moment: try again */ }
      window.setTimeout(poll, POLL_MS);
    };
    window.setTimeout(poll, POLL_MS);
  }

  async function swap(main) {
    const answer = await fetch(window.location.pathname + window.location.search,
      { headers: BACKGROUND, credentials: "same-origin", redirect: "manual" });
    if (answer.status !== 200) { return false; }
    const page = new DOMParser().parseFromString(await answer.text(), "text/html");
    const fresh = page.querySelector("main");
    if (!fresh) { return false; }
    main.innerHTML = fresh.innerHTML;
    ["data-live-url", "data-live-seen"].forEach((name) => {
      const value = fresh.getAttribute(name);
      if (value !== null) { main.setAttribute(name, value); }
    });
    document.title = page.title;
    init(main);
    const notice = main.querySelector("[data-live-announce]");
    if (notice) { notice.textContent = notice.getAttribute("data-live-announce"); }
    return true;
  }

  function showStale(main) {
    if (main.querySelector("#live-stale")) { return; }
    const note = document.createElement("p");
    note.id = "live-stale";
    note.className = "note";
    note.setAttribute("role", "status");
    note.textContent = main.getAttribute("data-live-stale") || "";
    const link = document.createElement("a");
    link.href = window.location.pathname;
    link.textContent = main.getAttribute("data-live-reload") || "";
    note.append(" ", link);
    main.prepend(note);
  }
})();
