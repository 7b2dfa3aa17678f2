// The operator console (/admin): users, orgs, the audit trail and webhooks
// over the admin.* API with the operator's own (aal2) session cookie.
import { api, showError, showMessage, signInRedirect } from "/static/app.js";

const $ = (id) => document.getElementById(id);
const when = (t) => (t ? new Date(t).toLocaleString() : "never");

function cell(row, value) {
  const td = document.createElement("td");
  if (value instanceof Node) td.append(value); else td.textContent = value == null || value === "" ? "-" : String(value);
  row.append(td);
  return td;
}

function linkButton(label, aria, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "secondary";
  b.textContent = label;
  if (aria) b.setAttribute("aria-label", aria);
  b.addEventListener("click", onClick);
  return b;
}

// confirmAction asks in the page, not with window.confirm, so the question
// names what will happen and keyboard and screen-reader users get it too.
function confirmAction(question) {
  const box = $("confirm-box");
  $("confirm-text").textContent = question;
  box.hidden = false;
  $("confirm-yes").focus();
  return new Promise((resolve) => {
    const done = (ok) => {
      box.hidden = true;
      $("confirm-yes").onclick = $("confirm-no").onclick = null;
      resolve(ok);
    };
    $("confirm-yes").onclick = () => done(true);
    $("confirm-no").onclick = () => done(false);
  });
}

// pager keeps one list's filters and cursor: load() starts over, more()
// appends the next page.
function pager(op, key, render, moreButton) {
  let body = {}, cursor = null;
  const fetchPage = async (append) => {
    const page = await api(op, cursor ? { ...body, cursor } : body);
    render(page[key], append);
    cursor = page.next_cursor;
    moreButton.hidden = !cursor;
  };
  moreButton.addEventListener("click", () => fetchPage(true).catch(showError));
  return {
    load: (b) => { body = b; cursor = null; return fetchPage(false); },
  };
}

// Users

let current = null; // the user shown in the detail pane

const users = pager("admin.users.list", "users", (list, append) => {
  const tbody = $("users");
  if (!append) tbody.replaceChildren();
  for (const u of list) {
    const tr = document.createElement("tr");
    tr.dataset.userId = u.id;
    cell(tr, linkButton(u.email, "Open " + u.email, () => showUser(u.id).catch(showError)));
    cell(tr, when(u.created_at));
    cell(tr, when(u.last_sign_in_at));
    cell(tr, u.mfa_enrolled ? "yes" : "no");
    cell(tr, u.disabled ? "disabled" : "active");
    tbody.append(tr);
  }
}, $("users-more"));

function searchUsers() {
  const body = { limit: 20 };
  const q = $("user-query").value.trim();
  if (q) body.query = q;
  if ($("user-disabled-only").checked) body.disabled = true;
  return users.load(body);
}

async function showUser(id) {
  const d = await api("admin.users.get", { user_id: id });
  const u = d.user;
  current = u;
  $("user-h").textContent = u.email;
  $("user-id").textContent = u.id;
  $("user-status").textContent = u.disabled ? "disabled " + when(u.disabled_at) + (u.disabled_reason ? " (" + u.disabled_reason + ")" : "") : "active";
  $("user-status").dataset.disabled = String(u.disabled);
  $("user-created").textContent = when(u.created_at);
  $("user-last").textContent = when(u.last_sign_in_at);
  const methods = [];
  if (u.has_password) methods.push("password");
  if (d.passkeys) methods.push(d.passkeys + " passkey(s)");
  for (const i of d.identities) methods.push(i.provider);
  if (d.factors.length) methods.push(d.factors.length + " authenticator app(s)");
  $("user-methods").textContent = methods.join(", ") || "none";
  $("user-orgs").textContent = d.memberships.map((m) => m.org_name + " (" + m.role + ")").join(", ") || "none";
  $("user-sessions").textContent = String(d.sessions.length);
  $("user-disable").hidden = u.disabled;
  $("user-enable").hidden = !u.disabled;
  $("user-mfa-reset").hidden = d.factors.length === 0;
  $("user-detail").hidden = false;
  $("user-h").focus();
}

// userAction asks, calls op on the shown user and refreshes what changed.
function userAction(button, question, op, body, done) {
  $(button).addEventListener("click", async () => {
    if (!current) return;
    const u = current;
    if (!(await confirmAction(question(u)))) return;
    try {
      const res = await api(op, { user_id: u.id, ...body });
      showMessage(done(u, res));
      if (op === "admin.users.delete") {
        $("user-detail").hidden = true;
        current = null;
      } else {
        await showUser(u.id);
      }
      await searchUsers();
    } catch (err) { showError(err); }
  });
}

userAction("user-disable", (u) => `Disable ${u.email}? Every session ends now and every sign-in is refused until you enable the account.`,
  "admin.users.disable", {}, (u) => `${u.email} is disabled.`);
userAction("user-enable", (u) => `Enable ${u.email} again?`, "admin.users.enable", {}, (u) => `${u.email} is enabled.`);
userAction("user-revoke", (u) => `Sign ${u.email} out of every session?`, "admin.users.revoke_sessions", {},
  (u, r) => `Revoked ${r.revoked} session(s) of ${u.email}.`);
userAction("user-mfa-reset", (u) => `Remove the authenticator apps and recovery codes of ${u.email}? They will be told by email.`,
  "admin.users.mfa.reset", {}, (u, r) => `Removed ${r.factors_removed} factor(s) of ${u.email}.`);
userAction("user-delete", (u) => `Delete ${u.email} for good? Orgs they own alone with other members pass to their next admin or member.`,
  "admin.users.delete", { force: true }, (u) => `${u.email} is deleted.`);

// Orgs

const orgs = pager("admin.orgs.list", "orgs", (list, append) => {
  const tbody = $("orgs");
  if (!append) tbody.replaceChildren();
  for (const o of list) {
    const tr = document.createElement("tr");
    cell(tr, linkButton(o.name, "Open " + o.name, () => showOrg(o.id).catch(showError)));
    cell(tr, o.slug);
    cell(tr, o.member_count);
    cell(tr, when(o.created_at));
    tbody.append(tr);
  }
}, $("orgs-more"));

function searchOrgs() {
  const q = $("org-query").value.trim();
  return orgs.load(q ? { query: q, limit: 20 } : { limit: 20 });
}

async function showOrg(id) {
  const d = await api("admin.orgs.get", { org_id: id });
  $("org-h").textContent = d.org.name;
  $("org-id").textContent = d.org.id;
  $("org-mfa").textContent = d.settings.require_mfa ? "yes" : "no";
  $("org-sso").textContent = d.sso_connections.map((c) => c.protocol + " " + c.id).join(", ") || "none";
  $("org-domains").textContent = d.domains.map((v) => v.domain + (v.verified ? " (verified)" : " (unverified)")).join(", ") || "none";
  const ul = $("org-members");
  ul.replaceChildren();
  for (const m of d.members) {
    const li = document.createElement("li");
    li.textContent = m.email + " · " + m.role;
    ul.append(li);
  }
  $("org-detail").hidden = false;
  $("org-h").focus();
}

// Audit trail

const events = pager("admin.audit_events.list", "events", (list, append) => {
  const tbody = $("events");
  if (!append) tbody.replaceChildren();
  for (const e of list) {
    const tr = document.createElement("tr");
    tr.dataset.action = e.action;
    cell(tr, when(e.time));
    cell(tr, e.actor_kind + (e.actor_id && e.actor_id !== e.actor_kind ? " " + e.actor_id : ""));
    cell(tr, e.action);
    cell(tr, e.target);
    cell(tr, e.org_id);
    cell(tr, e.ip);
    tbody.append(tr);
  }
}, $("events-more"));

function filterEvents() {
  const body = { limit: 50 };
  for (const [id, key] of [["audit-user", "user_id"], ["audit-org", "org_id"], ["audit-action", "action"]]) {
    const v = $(id).value.trim();
    if (v) body[key] = v;
  }
  for (const [id, key] of [["audit-since", "since"], ["audit-until", "until"]]) {
    const v = $(id).value; // local time, as the operator reads it
    if (v) body[key] = new Date(v).toISOString();
  }
  return events.load(body);
}

$("user-audit").addEventListener("click", () => {
  if (!current) return;
  $("audit-user").value = current.id;
  showTab("audit");
  filterEvents().catch(showError);
});

// Webhooks

async function listWebhooks() {
  const { webhooks } = await api("admin.webhooks.list");
  const tbody = $("webhooks");
  tbody.replaceChildren();
  for (const w of webhooks) {
    const tr = document.createElement("tr");
    cell(tr, w.url);
    cell(tr, w.events.join(", "));
    cell(tr, w.disabled ? "disabled" + (w.disabled_reason ? ": " + w.disabled_reason : "") : w.failing_since ? "failing since " + when(w.failing_since) : "active");
    cell(tr, linkButton("Deliveries", "Deliveries of " + w.url, () => showDeliveries(w).catch(showError)));
    tbody.append(tr);
  }
}

async function showDeliveries(w) {
  const { deliveries } = await api("admin.webhooks.deliveries.list", { webhook_id: w.id });
  const tbody = $("deliveries");
  tbody.replaceChildren();
  for (const d of deliveries) {
    const tr = document.createElement("tr");
    cell(tr, when(d.created_at));
    cell(tr, d.type);
    cell(tr, d.attempt);
    cell(tr, d.status);
    cell(tr, d.response_status);
    cell(tr, d.error);
    tbody.append(tr);
  }
  $("deliveries-h").textContent = "Recent deliveries to " + w.url;
  $("deliveries-box").hidden = false;
}

// Tabs and start-up

const loaders = { users: searchUsers, orgs: searchOrgs, audit: filterEvents, webhooks: listWebhooks };
const loaded = new Set();

function showTab(name) {
  for (const b of document.querySelectorAll("#admin-tabs button")) b.setAttribute("aria-pressed", String(b.dataset.tab === name));
  for (const key of Object.keys(loaders)) $("tab-" + key).hidden = key !== name;
  if (!loaded.has(name)) {
    loaded.add(name);
    loaders[name]().catch(showError);
  }
}

async function start() {
  try {
    await searchUsers();
  } catch (err) {
    if (err.status === 401) return signInRedirect();
    if (err.code === "mfa_required") return showError(new Error("The console needs a session signed in with a second factor. Sign out, then sign in again with your authenticator app or passkey."));
    if (err.code === "forbidden") return showError(new Error("This account is not an operator of this Latchkey instance."));
    return showError(err);
  }
  loaded.add("users");
  $("admin-tabs").hidden = false;
  $("tab-users").hidden = false;
  for (const b of document.querySelectorAll("#admin-tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));
  $("user-search").addEventListener("submit", (ev) => { ev.preventDefault(); searchUsers().catch(showError); });
  $("org-search").addEventListener("submit", (ev) => { ev.preventDefault(); searchOrgs().catch(showError); });
  $("audit-filter").addEventListener("submit", (ev) => { ev.preventDefault(); filterEvents().catch(showError); });
}

start();
