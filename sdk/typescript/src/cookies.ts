import type { TokenStore } from "./index.js";

/**
 * parseSessionCookies updates a token store from the Set-Cookie headers
 * of a response (token mode: no browser keeps the cookies). A cookie
 * cleared with Max-Age=0 or an empty value removes the token.
 */
export function parseSessionCookies(headers: Headers, tokens: TokenStore): void {
  const list = typeof headers.getSetCookie === "function" ? headers.getSetCookie() : [];
  for (const line of list) {
    const [pair, ...attrs] = line.split(";");
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const cleared = value === "" || attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a));
    const key = name === "latchkey_access" ? "access" : name === "latchkey_refresh" ? "refresh" : undefined;
    if (!key) continue;
    if (cleared) delete tokens[key];
    else tokens[key] = value;
  }
}
