/**
 * @latchkey/client: a typed client of the Latchkey API. The types come
 * from the server's OpenAPI document (openapi-typescript); this layer adds
 * what a generator cannot know: sessions in cookies (browser) or in memory
 * (server-side), one shared auth.refresh and a retry after a 401, the
 * mfa_required step, and typed errors.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "./schema.js";
import { LatchkeyError, MfaRequiredError, toError, type ErrorCode, type MfaFactor } from "./errors.js";
import { parseSessionCookies } from "./cookies.js";

export { LatchkeyError, MfaRequiredError, type ErrorCode, type MfaFactor };
export type { paths, components } from "./schema.js";

type PostPath = { [P in keyof paths]: paths[P] extends { post: object } ? P : never }[keyof paths];
/** Every operation name, e.g. "auth.login". */
export type OperationName = PostPath extends `/v1/${infer N}` ? N : never;
type Op<N extends OperationName> = paths[`/v1/${N}`] extends { post: infer O } ? O : never;
type Body<N extends OperationName> =
  NonNullable<Op<N> extends { requestBody?: infer R } ? R : never> extends { content: { "application/json": infer B } } ? B : never;
/** The request body of an operation. */
export type RequestOf<N extends OperationName> = Body<N>;
/** The success body of an operation. */
export type ResponseOf<N extends OperationName> =
  Op<N> extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;
type Args<N extends OperationName> = [Body<N>] extends [never]
  ? [body?: Record<string, never>]
  : Op<N> extends { requestBody: object } ? [body: Body<N>] : [body?: Body<N>];

/** Where a server-side client keeps the session's tokens. */
export interface TokenStore {
  access?: string;
  refresh?: string;
}

export interface LatchkeyOptions {
  /** The server's URL, e.g. https://auth.example.com. */
  baseUrl: string;
  /**
   * "browser": the session lives in HttpOnly cookies, sent with
   * credentials: "include"; "token": the tokens live in `tokens` (Node,
   * a server, a CLI). Default: "browser" where there is a document.
   */
  mode?: "browser" | "token";
  /** Token mode: the store to read and update (default: in memory). */
  tokens?: TokenStore;
  /** Token mode: a secret API key (sk_live_…) instead of a session. */
  apiKey?: string;
  fetch?: typeof globalThis.fetch;
  /** Called when a refresh fails: the session is over, sign in again. */
  onSessionEnd?: () => void;
}

type LoosePost = (path: string, init: { body: object }) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

/** Operations after whose 401 a refresh cannot help. */
const noRefresh = new Set(["auth.refresh", "auth.login", "auth.register", "auth.login_or_register", "auth.mfa.verify"]);

export class LatchkeyClient {
  /** The openapi-fetch client underneath, for anything this layer lacks. */
  readonly raw: Client<paths>;
  readonly mode: "browser" | "token";
  readonly tokens: TokenStore;
  private readonly opts: LatchkeyOptions;
  private inflight?: Promise<boolean>;
  /** Counts successful refreshes, so a 401 to a request sent before the
   * latest one retries at once instead of refreshing again. */
  private refreshes = 0;

  constructor(opts: LatchkeyOptions) {
    this.opts = opts;
    this.mode = opts.mode ?? (typeof document === "undefined" ? "token" : "browser");
    this.tokens = opts.tokens ?? {};
    const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.raw = createClient<paths>({
      baseUrl: opts.baseUrl.replace(/\/+$/, ""),
      fetch: fetchFn,
      credentials: this.mode === "browser" ? "include" : "omit",
    });
    if (this.mode === "token") this.raw.use(this.tokenMiddleware());
  }

  /**
   * Calls an operation with its typed body and returns its typed answer;
   * throws LatchkeyError (MfaRequiredError for mfa_required). A 401 on an
   * authenticated call refreshes the session once (shared by concurrent
   * callers) and retries the call.
   */
  async call<N extends OperationName>(name: N, ...args: Args<N>): Promise<ResponseOf<N>> {
    return (await this.rpc(name, args[0] as object | undefined)) as ResponseOf<N>;
  }

  /** call without the types: for operations this build's document lacks. */
  async rpc(name: string, body?: object): Promise<unknown> {
    const sentAfter = this.refreshes;
    try {
      return await this.send(name, body);
    } catch (err) {
      const retry = err instanceof LatchkeyError && err.status === 401 && !noRefresh.has(name) &&
        (err.code === "invalid_token" || err.code === "unauthenticated") && this.canRefresh();
      if (!retry) throw err;
      // A refresh that finished after this request left already fixed it.
      if (this.refreshes === sentAfter && !(await this.refresh())) throw err;
      return this.send(name, body);
    }
  }

  /**
   * Rotates the session through auth.refresh. Concurrent callers share
   * one request: a second refresh with the same token would be reuse.
   * Resolves false when the session is over.
   */
  refresh(): Promise<boolean> {
    this.inflight ??= this.doRefresh().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /**
   * Completes the second step of a sign-in that answered mfa_required
   * (with its mfa_token), or steps the current session up to aal2 (an
   * mfa_required or mfa_step_up_required without one): contract §7.
   */
  async verifyMfa(err: LatchkeyError | null, input: { code?: string; factor_id?: string; challenge_id?: string; credential?: object }): Promise<unknown> {
    const mfaToken = err instanceof MfaRequiredError ? err.mfaToken : undefined;
    return this.rpc("auth.mfa.verify", mfaToken ? { mfa_token: mfaToken, ...input } : input);
  }

  /** Signs out: revokes the session and forgets its tokens. */
  async logout(): Promise<void> {
    try {
      await this.rpc("auth.logout", {});
    } finally {
      delete this.tokens.access;
      delete this.tokens.refresh;
    }
  }

  private canRefresh(): boolean {
    if (this.opts.apiKey) return false;
    return this.mode === "browser" || Boolean(this.tokens.refresh);
  }

  private async send(name: string, body?: object): Promise<unknown> {
    // A cookie-authenticated POST must be JSON (CSRF rule), so there is
    // always a body, {} when the operation takes none.
    const post = this.raw.POST as unknown as LoosePost;
    const { data, error, response } = await post(`/v1/${name}`, { body: body ?? {} });
    if (response.ok) return data;
    throw toError(response.status, error, response.headers.get("X-Request-Id") ?? "");
  }

  private async doRefresh(): Promise<boolean> {
    const headers: Record<string, string> = {};
    if (this.mode === "token") headers["Cookie"] = `latchkey_refresh=${this.tokens.refresh ?? ""}`;
    // auth.refresh reads only the refresh cookie, never a body.
    const { response } = await this.raw.POST("/v1/auth.refresh", { headers });
    if (response.ok) {
      this.refreshes++;
      return true;
    }
    if (response.status === 401) {
      delete this.tokens.access;
      delete this.tokens.refresh;
      this.opts.onSessionEnd?.();
      return false;
    }
    throw toError(response.status, await response.json().catch(() => undefined), response.headers.get("X-Request-Id") ?? "");
  }

  /** Token mode: send the bearer, and keep the tokens the server sets. */
  private tokenMiddleware(): Middleware {
    return {
      onRequest: ({ request, schemaPath }) => {
        const bearer = this.opts.apiKey ?? this.tokens.access;
        if (bearer && schemaPath !== "/v1/auth.refresh" && !request.headers.has("Authorization")) {
          request.headers.set("Authorization", `Bearer ${bearer}`);
        }
        return request;
      },
      onResponse: ({ response }) => {
        parseSessionCookies(response.headers, this.tokens);
        return response;
      },
    };
  }
}

/** createLatchkeyClient is `new LatchkeyClient(opts)`. */
export function createLatchkeyClient(opts: LatchkeyOptions): LatchkeyClient {
  return new LatchkeyClient(opts);
}
