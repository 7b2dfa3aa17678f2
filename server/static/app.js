// Latchkey's one page module: API calls, form wiring, and the account page.
// Pages add behaviour with their own small modules that import from here.

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || "Something went wrong. Try again.");
    this.status = status;
    this.code = e.code || "internal";
    this.field = e.field;
    this.mfaToken = e.mfa_token; // mfa_required at sign-in (mfa.js)
    this.factors = e.factors || [];
  }
}

let refreshing = null;

// api calls /v1/<op> with a JSON body. An expired access cookie is
// refreshed once, transparently.
export async function api(op, body, retried) {
  const res = await fetch("/v1/" + op, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await res.json().catch(() => ({}));
  if (res.ok) return data;
  // An access cookie past its Max-Age is not sent at all: unauthenticated.
  const code = data.error && data.error.code;
  if (res.status === 401 && !retried && op !== "auth.refresh" && (code === "invalid_token" || code === "unauthenticated")) {
    refreshing = refreshing || fetch("/v1/auth.refresh", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" } });
    const r = await refreshing;
    refreshing = null;
    if (r.ok) return api(op, body, true);
  }
  throw new ApiError(res.status, data);
}

// nextPath is where to go after signing in: the page's ?next= (already
// checked by the server to be a path on this origin) or fallback.
export function nextPath(fallback) {
  const main = document.getElementById("main");
  return (main && main.dataset.next) || fallback || "/account";
}

export function showError(err) { say(err.message || String(err), "error"); }
export function showMessage(text) { say(text, "ok"); }

function say(text, kind) {
  const box = document.querySelector(".alert");
  if (!box) return;
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = false;
  box.tabIndex = -1;
  box.focus();
}

export function signInRedirect() {
  location.assign("/login?next=" + encodeURIComponent(location.pathname + location.search));
}

function formBody(form) {
  const body = {};
  for (const [k, v] of new FormData(form)) {
    if (typeof v === "string" && (v !== "" || form.elements[k].required)) body[k] = v;
  }
  return body;
}

// Forms with data-op call that operation with their fields; on success
// they go to data-next (or the page's next) or show data-done.
function wireForms() {
  for (const form of document.querySelectorAll("form[data-op]")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        await api(form.dataset.op, formBody(form));
        if (form.dataset.done) {
          showMessage(form.dataset.done);
          form.reset();
        } else {
          location.assign(nextPath(form.dataset.next));
        }
      } catch (err) {
        if (err.code === "mfa_required" && err.mfaToken) {
          // The sign-in waits for a second factor: mfa.js takes over.
          document.dispatchEvent(new CustomEvent("latchkey:mfa", { detail: { mfaToken: err.mfaToken, factors: err.factors, next: nextPath(form.dataset.next) } }));
          return;
        }
        showError(err);
        if (err.field && form.elements[err.field]) form.elements[err.field].setAttribute("aria-invalid", "true");
      } finally {
        if (button) button.disabled = false;
      }
    });
  }
}

// The sign-in methods of this deployment, as links under the forms.
async function showMethods() {
  const box = document.getElementById("methods");
  if (!box) return;
  const p = await fetch("/v1/auth.providers").then((r) => r.json()).catch(() => null);
  if (!p) return;
  for (const o of p.oauth || []) {
    if (!o.enabled) continue;
    const a = document.createElement("a");
    a.className = "button secondary";
    a.href = "/oauth/" + encodeURIComponent(o.id) + "/start?redirect_to=" + encodeURIComponent(nextPath());
    a.textContent = "Continue with " + o.name;
    box.append(a);
  }
}

function text(id, value) {
  const el = document.getElementById(id);
  if (el) el.textContent = value;
}

async function accountPage() {
  if (!document.getElementById("me-email")) return;
  let me;
  try {
    me = await api("auth.me");
  } catch (err) {
    if (err.status === 401) return signInRedirect();
    return showError(err);
  }
  text("me-email", me.user.email);
  text("me-verified", me.user.email_verified ? "Yes" : "Not yet");
  text("me-org", me.org.name);
  text("me-role", me.role);
  if (!me.user.has_password) document.getElementById("password-section").hidden = true;
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("auth.logout"); } catch (_) { /* signed out already */ }
    location.assign("/login");
  });
  await listSessions();
  document.dispatchEvent(new CustomEvent("latchkey:me", { detail: me }));
}

async function listSessions() {
  const list = document.getElementById("sessions");
  const { sessions } = await api("auth.sessions.list");
  list.replaceChildren();
  for (const s of sessions) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = (s.user_agent || "Unknown device") + " · " + new Date(s.last_seen_at).toLocaleString() + (s.current ? " · this device" : "");
    li.append(label);
    if (!s.current) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.textContent = "Sign out";
      b.setAttribute("aria-label", "Sign out session " + s.id);
      b.addEventListener("click", async () => {
        try { await api("auth.sessions.revoke", { session_id: s.id }); await listSessions(); } catch (err) { showError(err); }
      });
      li.append(b);
    }
    list.append(li);
  }
}

// Provider sign-ins that fail come back as /login?error=<code>.
const oauthErrors = {
  account_exists: "An account with this email already exists. Sign in to it, then connect the provider from your account page.",
  invalid_state: "That sign-in attempt expired or was started in another browser. Try again.",
  invalid_link: "That request to connect an account expired. Start again from your account page.",
  email_required: "The provider did not share an email address with us, so we could not sign you in.",
  provider_error: "We could not reach the sign-in provider, or it refused the request. Try again in a moment.",
  access_denied: "The sign-in was cancelled at the provider.",
  unknown_provider: "That sign-in provider is not available here.",
  already_linked: "Your account is already connected to another account of this provider. Disconnect it first.",
  sso_required: "Your organization requires single sign-on. Sign in with SSO instead.",
  rate_limited: "Too many attempts from your network. Wait a minute, then try again.",
};

function loginError() {
  const code = new URLSearchParams(location.search).get("error");
  if (code && location.pathname === "/login") showError(new Error(oauthErrors[code] || "Sign-in failed. Try again."));
}

wireForms();
showMethods();
accountPage();
loginError();
