// Pages of the OAuth flows: /auth/callback trades the one-time code for a
// session; /auth/transfer confirms moving a provider identity.
import { api, nextPath, showError, showMessage, signInRedirect } from "/static/app.js";

async function callbackPage() {
  const status = document.getElementById("oauth-status");
  if (!status) return;
  const code = new URLSearchParams(location.search).get("code");
  // The code is single use; keep it out of history and referrers.
  history.replaceState(null, "", location.pathname);
  try {
    if (!code) throw new Error("This sign-in link is incomplete. Start again.");
    await api("auth.oauth.exchange", { code });
    status.textContent = "Signed in. Taking you on…";
    location.replace(nextPath("/account"));
  } catch (err) {
    if (err.code === "mfa_required" && err.mfaToken) {
      // The second factor is asked on the sign-in page; the token stays
      // out of the URL.
      sessionStorage.setItem("latchkey.mfa", JSON.stringify({ mfaToken: err.mfaToken, factors: err.factors, next: nextPath("/account") }));
      location.replace("/login?mfa=1");
      return;
    }
    status.hidden = true;
    showError(err.code === "invalid_code" ? new Error("This sign-in link expired or was already used. Sign in again.") : err);
    document.getElementById("oauth-retry").hidden = false;
  }
}

function transferPage() {
  const form = document.getElementById("transfer-form");
  if (!form) return;
  // The token is also in the form, so a click before this module ran (a
  // plain GET of this page with the token) loses nothing.
  const token = form.elements.token.value;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api("auth.oauth.transfer.confirm", { token });
      showMessage("Done: the account is now connected to yours.");
      form.hidden = true;
    } catch (err) {
      if (err.status === 401) return signInRedirect();
      showError(err);
    } finally {
      button.disabled = false;
    }
  });
  form.dataset.ready = "true";
}

// The account page's "Connected accounts": linked identities with a
// disconnect button, and a connect button for each other provider.
async function connectedAccounts() {
  const section = document.getElementById("connected");
  if (!section) return;
  let ids, providers;
  try {
    [{ identities: ids }, providers] = await Promise.all([
      api("auth.oauth.list"),
      fetch("/v1/auth.providers").then((r) => r.json()),
    ]);
  } catch (_) {
    return; // signed out: the account page itself sends the browser to sign in
  }
  const names = Object.fromEntries((providers.oauth || []).map((p) => [p.id, p.name]));
  if (!ids.length && !(providers.oauth || []).length) return;
  section.hidden = false;
  const list = document.getElementById("identities");
  list.replaceChildren();
  for (const id of ids) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = (names[id.provider] || id.provider) + (id.email ? " · " + id.email : "");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Disconnect";
    b.setAttribute("aria-label", "Disconnect " + (names[id.provider] || id.provider));
    if (!id.can_unlink) {
      b.disabled = true;
      label.textContent += " (your only way to sign in: set a password before disconnecting it)";
    }
    b.addEventListener("click", async () => {
      try { await api("auth.oauth.unlink", { provider: id.provider }); await connectedAccounts(); } catch (err) { showError(err); }
    });
    li.append(label, b);
    list.append(li);
  }
  const connect = document.getElementById("connect");
  connect.replaceChildren();
  const linked = new Set(ids.map((i) => i.provider));
  for (const p of providers.oauth || []) {
    if (!p.enabled || linked.has(p.id)) continue;
    const b = document.createElement("button");
    b.type = "button";
    b.className = "secondary";
    b.textContent = "Connect " + p.name;
    b.addEventListener("click", async () => {
      try {
        const { authorize_url } = await api("auth.oauth.link.start", { provider: p.id, redirect_to: "/account" });
        location.assign(authorize_url);
      } catch (err) { showError(err); }
    });
    connect.append(b);
  }
}

callbackPage();
transferPage();
connectedAccounts();
