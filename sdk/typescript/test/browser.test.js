// The SDK in a real browser (Debian's Chromium through playwright-core):
// the session lives in HttpOnly cookies sent with credentials: "include",
// from a page on another origin that LATCHKEY_CORS_ORIGINS allows; expired
// access cookies are refreshed once for concurrent callers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, freePort, email } from "./server.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && process.env.CI === "true") throw new Error(`no Chromium at ${chromiumPath}; CI must run the browser test`);

let page, browser, app, latchkey;

before(async () => {
  if (!haveChromium) return;
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  latchkey = await startServer({ LATCHKEY_CORS_ORIGINS: origin, LATCHKEY_ACCESS_TOKEN_TTL: "2s" });
  // The page: the built SDK and openapi-fetch, resolved by an import map.
  const files = { "/openapi-fetch.mjs": join(root, "node_modules/openapi-fetch/dist/index.mjs") };
  app = createServer((req, res) => {
    if (req.url === "/") {
      res.setHeader("Content-Type", "text/html");
      return res.end(`<!doctype html><script type="importmap">{"imports":{"openapi-fetch":"/openapi-fetch.mjs"}}</script>
<script type="module">import { createLatchkeyClient } from "/dist/index.js";
window.lk = createLatchkeyClient({ baseUrl: ${JSON.stringify(latchkey.url)} }); window.ready = true;</script>`);
    }
    const file = files[req.url] ?? (req.url.startsWith("/dist/") ? join(root, normalize(req.url)) : "");
    if (!file.startsWith(root) || !existsSync(file)) { res.statusCode = 404; return res.end(); }
    res.setHeader("Content-Type", "text/javascript");
    res.end(readFileSync(file));
  });
  await new Promise((r) => app.listen(port, "127.0.0.1", r));
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  page = await browser.newPage();
  await page.goto(origin + "/");
  await page.waitForFunction(() => window.ready === true);
});

after(async () => {
  await browser?.close();
  app?.close();
  await latchkey?.stop();
});

test("browser mode: cookie session, one shared refresh, logout", { skip: !haveChromium && "no Chromium" }, async () => {
  const addr = email("browser");
  const out = await page.evaluate(async ({ addr, password }) => {
    const lk = window.lk;
    const refreshes = () => performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === "/v1/auth.refresh").length;
    await lk.call("auth.register", { email: addr, password });
    const me = await lk.call("auth.me");
    const cookie = document.cookie; // HttpOnly, and another origin's: invisible
    // Five calls race an expired access cookie (2 s): the resource timing
    // entries count the refreshes the page sent.
    await new Promise((r) => setTimeout(r, 3000));
    const before = refreshes();
    const many = await Promise.all([lk.call("auth.me"), lk.call("auth.sessions.list"), lk.call("auth.me"), lk.call("auth.onboarding.status"), lk.call("auth.me")]);
    const sent = refreshes() - before;
    await lk.logout();
    let after = "";
    try { await lk.call("auth.me"); } catch (e) { after = e.status + " " + e.code; }
    return { email: me.user?.email, credential: me.credential, cookie, sessions: many[1].sessions.length,
      refreshes: sent, after };
  }, { addr, password: "correct horse battery staple" });
  assert.equal(out.email, addr);
  assert.equal(out.credential, "session");
  assert.equal(out.cookie, "", "no token is readable by the page");
  assert.equal(out.sessions, 1);
  assert.equal(out.refreshes, 1, "five callers shared one auth.refresh");
  assert.equal(out.after, "401 unauthenticated", "signed out: no cookie is left");
});
