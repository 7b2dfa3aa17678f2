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
    status.hidden = true;
    showError(err.code === "invalid_code" ? new Error("This sign-in link expired or was already used. Sign in again.") : err);
    document.getElementById("oauth-retry").hidden = false;
  }
}

function transferPage() {
  const form = document.getElementById("transfer-form");
  if (!form) return;
  const token = new URLSearchParams(location.search).get("token") || "";
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
}

callbackPage();
transferPage();
