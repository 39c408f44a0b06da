// Small enhancements; every page works without them.
"use strict";

// Ask before destructive actions: <button data-confirm="Turn it off?">.
document.addEventListener("click", (e) => {
  const el = e.target.closest("[data-confirm]");
  if (el && el.dataset.confirm && !window.confirm(el.dataset.confirm)) {
    e.preventDefault();
  }
  const back = e.target.closest("[data-back]");
  if (back && history.length > 1) {
    e.preventDefault();
    history.back();
  }
});

// Close an open switcher menu when focus or a click goes elsewhere, or on Escape.
document.addEventListener("click", (e) => {
  for (const d of document.querySelectorAll("details.switcher[open]")) {
    if (!d.contains(e.target)) d.open = false;
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  for (const d of document.querySelectorAll("details.switcher[open]")) {
    d.open = false;
    d.querySelector("summary").focus();
  }
});

// Live regions: <section id="x" data-refresh="5"> is fetched again every 5 seconds and
// replaced by the same element of the new page, unless focus is in it (someone typing, or on
// a button they reached with the keyboard, would lose their place). Once the new page's
// element no longer asks to be refreshed (a rollout that ended), it stops.
for (const el of document.querySelectorAll("[data-refresh][id]")) {
  const seconds = Math.max(2, Number(el.dataset.refresh) || 5);
  const timer = setInterval(async () => {
    if (document.hidden || el.contains(document.activeElement)) return;
    try {
      const res = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!res.ok || res.redirected) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const fresh = doc.getElementById(el.id);
      if (fresh) el.replaceChildren(...fresh.childNodes);
      if (fresh && !fresh.hasAttribute("data-refresh")) clearInterval(timer);
    } catch (_) { /* the next tick tries again */ }
  }, seconds * 1000);
}

// A notice belongs to the answer of one form: keep it out of reloads, refreshes and bookmarks.
{
  const u = new URL(location.href);
  if (u.searchParams.has("notice")) {
    u.searchParams.delete("notice");
    history.replaceState(history.state, "", u);
  }
}
