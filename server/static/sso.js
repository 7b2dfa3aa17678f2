// The sign-in page's SSO switch: once an email is typed, ask whether its
// domain signs in through an organization's identity provider, and offer
// "Continue with SSO" (only that, when the organization requires it).
import { api, showError } from "/static/app.js";

// SSO sign-ins that fail come back as /login?error=<code>.
const ssoErrors = {
  sso_failed: "Your organization's identity provider sent an answer we could not verify. Try again, or ask your IT team.",
  sso_replayed: "That sign-in response was already used. Start again.",
  sso_domain_mismatch: "Your identity provider signed you in with an address this organization's SSO does not serve.",
  sso_unavailable: "We could not reach your organization's identity provider. Try again in a moment.",
  not_found: "That SSO connection no longer exists. Ask your organization's admin.",
};
const code = new URLSearchParams(location.search).get("error");
if (code && ssoErrors[code]) showError(new Error(ssoErrors[code]));

const form = document.querySelector('form[data-op="auth.login"]');
const email = form && form.elements.email;
const box = document.getElementById("sso");
const link = document.getElementById("sso-start");
const note = document.getElementById("sso-note");
const passwordParts = form ? [form.elements.password, form.querySelector('label[for="password"]'), form.querySelector("button[type=submit]")] : [];
let asked = "";
let timer;

function show(found) {
  const required = !!(found && found.required);
  box.hidden = !found;
  if (found) link.href = found.start_url;
  note.hidden = !required;
  for (const el of passwordParts) if (el) el.hidden = required;
  if (form.elements.password) form.elements.password.required = !required;
}

async function discover() {
  const value = email.value.trim();
  if (value === asked) return;
  asked = value;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) return show(null);
  try {
    const d = await api("auth.sso.discover", { email: value });
    if (email.value.trim() === value) show(d.sso ? d : null);
  } catch (_) {
    show(null); // discovery is a convenience; password sign-in still works
  }
}

if (form && email && box) {
  email.addEventListener("change", discover);
  email.addEventListener("blur", discover);
  email.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(discover, 400); });
  if (email.value) discover();
}
