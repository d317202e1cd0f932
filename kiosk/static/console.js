// The console: mark where we are, refresh live panels, keyboard shortcuts on pages that declare them.
(function () {
  const here = document.body.dataset.nav || location.pathname.split("/")[2] || "dashboard";
  document.querySelectorAll("[data-nav]").forEach(a => a.classList.toggle("here", a.dataset.nav === here));
  // a live panel: every data-refresh seconds, its content from the same page again (or from data-source)
  document.querySelectorAll("[data-refresh][id]").forEach(panel => {
    const every = Number(panel.dataset.refresh) * 1000, source = panel.dataset.source || location.href;
    setInterval(async () => {
      // said to be a refresh: it keeps nobody's session alive
      const reply = await fetch(source, {credentials: "same-origin", headers: {"X-Edossier-Refresh": "1"}});
      if (reply.redirected || !reply.ok) { location.reload(); return; }
      const page = new DOMParser().parseFromString(await reply.text(), "text/html");
      const fresh = page.getElementById(panel.id);
      if (fresh) panel.innerHTML = fresh.innerHTML;
    }, every);
  });
  document.addEventListener("keydown", event => {
    if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = document.querySelector(`[data-key="${event.key}"]`);
    if (target) { event.preventDefault(); target.focus(); target.click(); }
  });
})();
