// Two-factor authentication on the built-in pages: the second step of
// sign-in (a code, a recovery code or a passkey) and the account page's
// "Two-factor authentication" section (enroll with a QR code, recovery
// codes to copy or download, remove an app).
import { api, showError, showMessage, signInRedirect } from "/static/app.js";

const $ = (id) => document.getElementById(id);

async function passkeyAssertion(begin) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey);
  return (await navigator.credentials.get({ publicKey })).toJSON();
}

// secondStep swaps the sign-in form for the second factor's form.
function secondStep({ mfaToken, factors, next }) {
  const step = $("mfa-step");
  if (!step) return;
  for (const el of [$("login-form"), $("sso"), $("passkey-login-box"), $("methods")]) if (el) el.hidden = true;
  step.hidden = false;
  const form = $("mfa-form");
  const input = $("mfa-code");
  let recovery = false;
  const mode = (useRecovery) => {
    recovery = useRecovery;
    $("mfa-code-label").textContent = recovery ? "Recovery code" : "Code from your authenticator app";
    input.inputMode = recovery ? "text" : "numeric";
    input.autocomplete = recovery ? "off" : "one-time-code";
    input.value = "";
    $("mfa-use-recovery").hidden = recovery;
    $("mfa-use-totp").hidden = !recovery;
    input.focus();
  };
  $("mfa-use-recovery").hidden = !factors.some((f) => f.type === "recovery_code");
  $("mfa-use-recovery").onclick = () => mode(true);
  $("mfa-use-totp").onclick = () => mode(false);
  const done = () => location.assign(next || "/account");
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const body = { mfa_token: mfaToken, code: input.value.trim() };
      if (recovery) body.factor_id = "recovery_code";
      await api("auth.mfa.verify", body);
      done();
    } catch (err) {
      if (err.code === "invalid_token") return restart();
      input.setAttribute("aria-invalid", "true");
      showError(err);
    } finally {
      button.disabled = false;
    }
  };
  const pk = $("mfa-use-passkey");
  if (factors.some((f) => f.type === "passkey") && typeof window.PublicKeyCredential === "function") {
    pk.hidden = false;
    pk.onclick = async () => {
      pk.disabled = true;
      try {
        const begin = await api("auth.mfa.passkey.begin", { mfa_token: mfaToken });
        const credential = await passkeyAssertion(begin);
        await api("auth.mfa.verify", { mfa_token: mfaToken, challenge_id: begin.challenge_id, credential });
        done();
      } catch (err) {
        if (err.code === "invalid_token") return restart();
        showError(err.name === "NotAllowedError" ? new Error("The passkey request was cancelled or timed out. Try again.") : err);
      } finally {
        pk.disabled = false;
      }
    };
  }
  mode(false);
}

function restart() {
  showError(new Error("This sign-in expired or had too many wrong codes. Sign in again."));
  $("mfa-step").hidden = true;
  $("login-form").hidden = false;
}

function loginPage() {
  document.addEventListener("latchkey:mfa", (ev) => secondStep(ev.detail));
  // An OAuth sign-in that needs a second factor comes back here.
  const pending = sessionStorage.getItem("latchkey.mfa");
  if (pending && $("mfa-step")) {
    sessionStorage.removeItem("latchkey.mfa");
    history.replaceState(null, "", location.pathname);
    try { secondStep(JSON.parse(pending)); } catch (_) { /* ignore a mangled entry */ }
  }
}

// stepUp asks for a code and upgrades the session (auth.mfa.verify), for
// operations that answer mfa_step_up_required.
async function withStepUp(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err.code !== "mfa_step_up_required") throw err;
    const box = $("stepup-box");
    box.hidden = false;
    $("stepup-code").focus();
    await new Promise((resolve, reject) => {
      $("stepup-form").onsubmit = async (ev) => {
        ev.preventDefault();
        try {
          await api("auth.mfa.verify", { code: $("stepup-code").value.trim() });
          box.hidden = true;
          $("stepup-code").value = "";
          resolve();
        } catch (e) {
          showError(e);
          if (e.code !== "invalid_code") reject(e);
        }
      };
    });
    return fn();
  }
}

function showRecoveryCodes(codes) {
  const box = $("recovery-box");
  const list = $("recovery-codes");
  list.replaceChildren(...codes.map((c) => Object.assign(document.createElement("li"), { textContent: c })));
  const text = "Latchkey recovery codes (each works once)\n\n" + codes.join("\n") + "\n";
  $("recovery-download").href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  $("recovery-copy").onclick = async () => {
    try { await navigator.clipboard.writeText(text); showMessage("Recovery codes copied."); } catch (err) { showError(err); }
  };
  box.hidden = false;
  $("recovery-h").focus();
}

async function listFactors() {
  const { factors, recovery_codes_remaining: remaining } = await api("auth.mfa.list");
  const list = $("mfa-factors");
  list.replaceChildren();
  for (const f of factors) {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("span"), { textContent: f.name + " · added " + new Date(f.created_at).toLocaleDateString() }));
    const b = Object.assign(document.createElement("button"), { type: "button", className: "secondary", textContent: "Remove" });
    b.setAttribute("aria-label", "Remove " + f.name);
    b.onclick = async () => {
      if (!confirm("Remove " + f.name + "? " + (factors.length === 1 ? "Two-factor authentication will be turned off." : ""))) return;
      try {
        await withStepUp(() => api("auth.mfa.delete", { id: f.id }));
        showMessage("Removed.");
        await listFactors();
      } catch (err) { showError(err); }
    };
    li.append(b);
    list.append(li);
  }
  const on = factors.length > 0;
  $("mfa-status").textContent = on
    ? "On. Signing in with a password or a provider asks for a code. " + remaining + " recovery codes left."
    : "Off. Add an authenticator app to protect your account with a second factor.";
  $("mfa-status").dataset.on = String(on);
  $("recovery-regenerate").hidden = !on;
}

async function accountSection() {
  if (!$("mfa-section")) return;
  document.addEventListener("latchkey:me", async () => {
    try { await listFactors(); } catch (err) { if (err.status === 401) return signInRedirect(); showError(err); }
  });
  let factorID = "";
  $("mfa-enroll").onclick = async () => {
    try {
      const e = await api("auth.mfa.totp.enroll", {});
      factorID = e.factor_id;
      const img = $("mfa-qr");
      img.src = "data:image/svg+xml;base64," + btoa(e.qr_svg);
      $("mfa-secret").textContent = e.secret;
      $("mfa-enroll-box").hidden = false;
      $("mfa-confirm-code").focus();
    } catch (err) { showError(err); }
  };
  $("mfa-confirm-form").onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const r = await api("auth.mfa.totp.confirm", { factor_id: factorID, code: $("mfa-confirm-code").value.trim() });
      $("mfa-enroll-box").hidden = true;
      $("mfa-confirm-code").value = "";
      showMessage("Two-factor authentication is on.");
      if (r.recovery_codes) showRecoveryCodes(r.recovery_codes);
      await listFactors();
    } catch (err) {
      $("mfa-confirm-code").setAttribute("aria-invalid", "true");
      showError(err);
    }
  };
  $("recovery-regenerate").onclick = async () => {
    if (!confirm("Replace your recovery codes? The old ones stop working.")) return;
    try {
      const r = await withStepUp(() => api("auth.mfa.recovery_codes.regenerate", {}));
      showRecoveryCodes(r.recovery_codes);
      await listFactors();
    } catch (err) { showError(err); }
  };
}

loginPage();
accountSection();
