// The SDK against the real server, in token mode (Node): typed errors,
// sessions kept from the cookies the server sets, one shared refresh with
// a retry after a 401, API keys.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createLatchkeyClient, LatchkeyError } from "../dist/index.js";
import { startServer, email } from "./server.js";

const password = "correct horse battery staple";
let server, short;

before(async () => {
  server = await startServer();
  // Access tokens that expire almost at once, to exercise the refresh.
  short = await startServer({ LATCHKEY_ACCESS_TOKEN_TTL: "2s" });
});
after(async () => {
  await server?.stop();
  await short?.stop();
});

// countingFetch counts the requests per operation.
function countingFetch() {
  const counts = {};
  const f = (input, init) => {
    const url = typeof input === "string" ? input : input.url;
    const op = new URL(url).pathname.replace("/v1/", "");
    counts[op] = (counts[op] ?? 0) + 1;
    return fetch(input, init);
  };
  return { f, counts };
}

test("a session from auth.register is kept and used", async () => {
  const lk = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  const addr = email("reg");
  const reg = await lk.call("auth.register", { email: addr, password, name: "Ada" });
  assert.equal(reg.user.email, addr);
  assert.equal(reg.token_type, "Bearer");
  assert.equal(lk.tokens.access, reg.access_token, "the access cookie is kept");
  assert.equal(lk.tokens.refresh, reg.refresh_token, "the refresh cookie is kept");
  const me = await lk.call("auth.me");
  assert.equal(me.credential, "session");
  assert.equal(me.user?.email, addr);
  await lk.logout();
  assert.equal(lk.tokens.access, undefined);
  await assert.rejects(lk.call("auth.me"), (e) => e instanceof LatchkeyError && e.status === 401);
});

test("errors are typed: status, code, field, request_id", async () => {
  const lk = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  const addr = email("dup");
  await lk.call("auth.register", { email: addr, password });
  const anon = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  await assert.rejects(anon.call("auth.register", { email: addr, password }), (e) => {
    assert.ok(e instanceof LatchkeyError);
    assert.equal(e.status, 409);
    assert.equal(e.code, "email_taken");
    assert.match(e.requestId, /.+/);
    assert.ok(e.message.length > 0);
    return true;
  });
  await assert.rejects(anon.rpc("auth.login", { email: addr, password, remember_me: true }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.code, "invalid_request");
    assert.equal(e.field, "remember_me");
    return true;
  });
  await assert.rejects(anon.call("auth.login", { email: addr, password: "wrong password!" }), (e) => e.code === "invalid_credentials" && e.status === 401);
});

test("concurrent calls after expiry share one auth.refresh and are retried", async () => {
  const { f, counts } = countingFetch();
  const lk = createLatchkeyClient({ baseUrl: short.url, mode: "token", fetch: f });
  await lk.call("auth.register", { email: email("refresh"), password });
  const firstRefresh = lk.tokens.refresh;
  await new Promise((r) => setTimeout(r, 3100)); // the 2 s access token is dead
  const results = await Promise.all([
    lk.call("auth.me"),
    lk.call("auth.sessions.list"),
    lk.call("auth.onboarding.status"),
    lk.call("auth.me"),
    lk.call("auth.passkey.list"),
  ]);
  assert.equal(counts["auth.refresh"], 1, "one refresh for five callers");
  assert.equal(results[0].credential, "session");
  assert.equal(results[1].sessions.length, 1, "still the one session (no reuse detection)");
  assert.notEqual(lk.tokens.refresh, firstRefresh, "the refresh token rotated");
  assert.equal(counts["auth.me"], 4, "each auth.me was sent, refused, and sent again");
});

test("a refresh that fails ends the session and surfaces the original error", async () => {
  let ended = 0;
  const { f, counts } = countingFetch();
  const lk = createLatchkeyClient({ baseUrl: server.url, mode: "token", fetch: f, onSessionEnd: () => ended++,
    tokens: { access: "not-a-token", refresh: "not-a-refresh-token" } });
  await assert.rejects(lk.call("auth.me"), (e) => e instanceof LatchkeyError && e.status === 401 && e.code === "invalid_token");
  assert.equal(counts["auth.refresh"], 1);
  assert.equal(ended, 1);
  assert.equal(lk.tokens.refresh, undefined);
  // Without a refresh token there is nothing to try.
  await assert.rejects(lk.call("auth.me"), (e) => e.code === "unauthenticated");
  assert.equal(counts["auth.refresh"], 1);
});

test("a secret API key authenticates and is never refreshed", async () => {
  const owner = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  await owner.call("auth.register", { email: email("key"), password });
  const created = await owner.call("org.api_keys.create", { name: "ci", scopes: ["api:read"] });
  assert.match(created.secret, /^sk_live_/);
  const { f, counts } = countingFetch();
  const svc = createLatchkeyClient({ baseUrl: server.url, mode: "token", apiKey: created.secret, fetch: f });
  const me = await svc.call("auth.me");
  assert.equal(me.credential, "api_key");
  assert.deepEqual(me.scopes, ["api:read"]);
  await assert.rejects(svc.call("auth.sessions.list"), (e) => e.status === 403 && e.code === "wrong_credential_kind");
  await owner.call("org.api_keys.revoke", { id: created.api_key.id });
  await assert.rejects(svc.call("auth.me"), (e) => e.code === "invalid_token");
  assert.equal(counts["auth.refresh"], undefined);
});
