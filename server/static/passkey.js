// Passkeys on the built-in pages: sign up and sign in with one, and the
// passkeys section of the account page. The browser's own JSON helpers
// (parse*OptionsFromJSON, credential.toJSON) carry the WebAuthn data.
import { api, nextPath, showError, showMessage } from "/static/app.js";

const supported = typeof window.PublicKeyCredential === "function" &&
  typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
  typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

async function enabled() {
  if (!supported) return false;
  const p = await fetch("/v1/auth.providers").then((r) => r.json()).catch(() => null);
  return Boolean(p && p.passkey && p.passkey.enabled);
}

// explain turns the browser's WebAuthn exceptions into sentences.
function explain(err) {
  switch (err && err.name) {
    case "NotAllowedError": return new Error("The passkey request was cancelled or timed out. Try again.");
    case "InvalidStateError": return new Error("This device already holds a passkey for this account.");
    case "SecurityError": return new Error("Passkeys do not work on this address.");
  }
  return err;
}

async function createCredential(begin) {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(begin.options.publicKey);
  return (await navigator.credentials.create({ publicKey })).toJSON();
}

async function getCredential(begin) {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(begin.options.publicKey);
  return (await navigator.credentials.get({ publicKey })).toJSON();
}

// onClick runs fn when button is clicked, disabling it meanwhile and
// showing any error.
function onClick(button, fn) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await fn();
    } catch (err) {
      showError(explain(err));
    } finally {
      button.disabled = false;
    }
  });
}

function emailValue() {
  const input = document.getElementById("email");
  return input ? input.value.trim() : "";
}

async function signupPage() {
  const button = document.getElementById("passkey-signup");
  if (!button || !(await enabled())) return;
  document.getElementById("passkey-signup-box").hidden = false;
  onClick(button, async () => {
    const email = emailValue();
    if (!email) {
      document.getElementById("email").focus();
      throw new Error("Enter your email address first.");
    }
    const begin = await api("auth.passkey.register.begin", { email });
    const credential = await createCredential(begin);
    await api("auth.passkey.register.finish", { challenge_id: begin.challenge_id, credential });
    location.assign(nextPath("/account"));
  });
}

async function loginPage() {
  const button = document.getElementById("passkey-login");
  if (!button || !(await enabled())) return;
  document.getElementById("passkey-login-box").hidden = false;
  onClick(button, async () => {
    const email = emailValue();
    const begin = await api("auth.passkey.login.begin", email ? { email } : {});
    const credential = await getCredential(begin);
    await api("auth.passkey.login.finish", { challenge_id: begin.challenge_id, credential });
    location.assign(nextPath("/account"));
  });
}

function when(iso) {
  return iso ? new Date(iso).toLocaleDateString() : "never";
}

async function listPasskeys() {
  const list = document.getElementById("passkeys");
  const { passkeys } = await api("auth.passkey.list");
  list.replaceChildren();
  if (passkeys.length === 0) {
    const li = document.createElement("li");
    li.textContent = "No passkeys yet.";
    list.append(li);
  }
  for (const p of passkeys) list.append(passkeyItem(p));
}

function button(label, aria, fn) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary";
  b.textContent = label;
  b.setAttribute("aria-label", aria);
  onClick(b, fn);
  return b;
}

function passkeyItem(p) {
  const li = document.createElement("li");
  li.dataset.id = p.id;
  const label = document.createElement("span");
  const name = document.createElement("strong");
  name.className = "passkey-name";
  name.textContent = p.name;
  label.append(name, " · added " + when(p.created_at) + " · last used " + when(p.last_used_at));
  const actions = document.createElement("span");
  actions.append(
    button("Rename", "Rename passkey " + p.name, async () => renameForm(li, p)),
    button("Delete", "Delete passkey " + p.name, async () => {
      await api("auth.passkey.delete", { id: p.id });
      showMessage("The passkey " + p.name + " was deleted.");
      await listPasskeys();
    }),
  );
  li.append(label, actions);
  return li;
}

// renameForm swaps the item for a small form with the name field.
function renameForm(li, p) {
  const form = document.createElement("form");
  const id = "rename-" + p.id;
  const label = document.createElement("label");
  label.htmlFor = id;
  label.textContent = "New name";
  const input = document.createElement("input");
  input.id = id;
  input.value = p.name;
  input.maxLength = 100;
  input.required = true;
  const save = document.createElement("button");
  save.type = "submit";
  save.textContent = "Save";
  form.append(label, input, save);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api("auth.passkey.rename", { id: p.id, name: input.value });
      await listPasskeys();
    } catch (err) {
      showError(err);
      input.setAttribute("aria-invalid", "true");
    }
  });
  li.replaceChildren(form);
  input.focus();
}

function accountPage() {
  const section = document.getElementById("passkeys-section");
  if (!section) return;
  document.addEventListener("latchkey:me", async () => {
    if (!(await enabled())) return;
    section.hidden = false;
    try {
      await listPasskeys();
    } catch (err) {
      showError(err);
    }
    onClick(document.getElementById("passkey-add"), async () => {
      const begin = await api("auth.passkey.register.begin", {});
      const credential = await createCredential(begin);
      const { passkey } = await api("auth.passkey.register.finish", { challenge_id: begin.challenge_id, credential });
      showMessage("Added the passkey " + passkey.name + ".");
      await listPasskeys();
    });
  });
}

signupPage();
loginPage();
accountPage();
