// The mfa_required step through the SDK against the real server: a sign-in
// that needs a second factor throws MfaRequiredError, verifyMfa finishes
// it, and a step-up upgrades a live session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createLatchkeyClient, MfaRequiredError, LatchkeyError } from "../dist/index.js";
import { startServer, email } from "./server.js";
import { totp } from "./totp.js";

const password = "correct horse battery staple";
let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test("password sign-in with MFA: MfaRequiredError, then verifyMfa", async () => {
  const addr = email("mfa");
  const lk = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  await lk.call("auth.register", { email: addr, password });
  const enrolled = await lk.call("auth.mfa.totp.enroll", {});
  const confirmed = await lk.call("auth.mfa.totp.confirm", { factor_id: enrolled.factor_id, code: totp(enrolled.secret) });
  assert.equal(confirmed.recovery_codes?.length, 10);
  assert.equal((await lk.call("auth.me")).aal, "aal2", "the enrolling session is aal2");

  const other = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  let challenge;
  await assert.rejects(other.call("auth.login", { email: addr, password }), (e) => {
    assert.ok(e instanceof MfaRequiredError && e instanceof LatchkeyError);
    assert.equal(e.status, 403);
    assert.match(e.mfaToken ?? "", /.{40,}/);
    assert.deepEqual(e.factors.map((f) => f.type), ["totp", "recovery_code"]);
    challenge = e;
    return true;
  });
  assert.equal(other.tokens.access, undefined, "no session before the second factor");
  // The next time step's code: the enrolling code's step is spent.
  await other.verifyMfa(challenge, { code: totp(enrolled.secret, Date.now() + 30000) });
  const me = await other.call("auth.me");
  assert.equal(me.aal, "aal2");
  assert.deepEqual(me.amr, ["pwd", "otp", "mfa"]);
  await assert.rejects(other.verifyMfa(challenge, { code: confirmed.recovery_codes[0] }), (e) => e.code === "invalid_token", "an mfa_token works once");

  // Step-up on a live aal1 session (signed in before MFA was on is not
  // possible here, so use a recovery code on a second sign-in's session).
  const third = createLatchkeyClient({ baseUrl: server.url, mode: "token" });
  const e = await third.call("auth.login", { email: addr, password }).catch((x) => x);
  assert.ok(e instanceof MfaRequiredError);
  await third.verifyMfa(e, { code: confirmed.recovery_codes[0] });
  assert.equal((await third.call("auth.mfa.list")).recovery_codes_remaining, 9);
});
