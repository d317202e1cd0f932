// The kiosk: clear the screen after inactivity, capture with the devices, show thumbnails as pages arrive, sign.
(function () {
  const main = document.querySelector("main[data-idle]");
  if (main) {                                   // inactivity: nothing of this person stays on screen
    const idleMs = Number(main.dataset.idle) * 1000;
    let timer;
    const clear = () => location.replace("/kiosk?idle=1");
    const touched = () => { clearTimeout(timer); timer = setTimeout(clear, idleMs); };
    ["pointerdown", "keydown", "input", "wheel"].forEach(e => document.addEventListener(e, touched, {passive: true}));
    touched();
  }

  const capture = document.getElementById("capture");
  if (capture) {
    const status = document.getElementById("capture-status"), preview = document.getElementById("preview");
    let shown = document.querySelectorAll("#pages li").length, polling = null;
    const refreshPages = async () => {
      const page = new DOMParser().parseFromString(await (await fetch(location.href)).text(), "text/html");
      document.getElementById("pages").innerHTML = page.getElementById("pages").innerHTML;
      bind();
    };
    const poll = async () => {
      const reply = await fetch("/kiosk/capture-state");
      if (reply.status === 410) { location.replace("/kiosk?idle=1"); return; }
      const state = await reply.json();
      if (state.pages.length !== shown) { shown = state.pages.length; await refreshPages(); }
      if (preview && state.preview && state.running) { preview.hidden = false; preview.src = "/kiosk/capture/preview.jpg?" + Date.now(); }
      if (status) {
        status.textContent = state.error ? state.error : state.running ? `… ${state.captured}` : "";
        status.className = state.error ? "error" : "";
      }
      if (!state.running) { clearInterval(polling); polling = null; if (preview) preview.hidden = true; }
    };
    const start = async (role, insteadOf) => {
      const body = new FormData();
      body.set("material", insteadOf ? insteadOf.material : capture.dataset.material);
      if (insteadOf) body.set("instead_of", insteadOf.id);
      const reply = await fetch(`/kiosk/capture/${role}`, {method: "POST", body});
      if (!reply.ok) { status.textContent = (await reply.json()).error; status.className = "error"; return; }
      if (!polling) polling = setInterval(poll, 400);
    };
    const bind = () => document.querySelectorAll("[data-retake]").forEach(button => {
      button.onclick = () => start(document.getElementById("use-camera") ? "camera" : "scanner",
                                   {id: button.dataset.retake, material: button.dataset.material});
    });
    document.querySelectorAll("[data-capture]").forEach(button => button.onclick = () => start(button.dataset.capture));
    bind();
    setInterval(() => { if (!polling) poll(); }, 2000);    // pages sent from the phone appear too
  }

  const canvas = document.getElementById("signature");
  if (canvas) {
    const pen = canvas.getContext("2d");
    pen.lineWidth = 4; pen.lineCap = "round"; pen.strokeStyle = "#111";
    let drawing = false, inked = false;
    const at = e => { const r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
    canvas.addEventListener("pointerdown", e => { drawing = true; canvas.setPointerCapture(e.pointerId);
      pen.beginPath(); pen.moveTo(...at(e)); });
    canvas.addEventListener("pointermove", e => { if (!drawing) return; pen.lineTo(...at(e)); pen.stroke(); inked = true; });
    canvas.addEventListener("pointerup", () => { drawing = false; });
    document.getElementById("clear-signature").onclick = () => { pen.clearRect(0, 0, canvas.width, canvas.height); inked = false; };
    document.getElementById("sign-form").addEventListener("submit", () => {
      document.getElementById("signature-data").value = inked ? canvas.toDataURL("image/png") : "";
    });
  }
})();
