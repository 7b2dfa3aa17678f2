// Starts the real Latchkey binary (built by `npm test` into .test-bin/)
// on a fresh SQLite database and a free loopback port.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const binary = process.env.LATCHKEY_BIN ?? join(here, "..", ".test-bin", "latchkey");

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** startServer runs `latchkey serve`; env adds LATCHKEY_* settings. */
export async function startServer(env = {}) {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-sdk-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let log = "";
  const child = spawn(binary, ["serve"], {
    env: {
      PATH: process.env.PATH,
      LATCHKEY_ADDR: `127.0.0.1:${port}`,
      LATCHKEY_DATABASE_URL: `sqlite://${join(dir, "latchkey.db")}`,
      LATCHKEY_PUBLIC_URL: url,
      LATCHKEY_RATE_LIMITS: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout.on("data", (b) => (log += b));
  child.stderr.on("data", (b) => (log += b));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {}
    if (child.exitCode !== null || i > 300) throw new Error(`latchkey serve did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;
/** A fresh email for each account a test creates. */
export function email(prefix = "user") {
  return `${prefix}-${process.pid}-${Date.now()}-${n++}@example.com`;
}
