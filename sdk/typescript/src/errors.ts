import type { components } from "./schema.js";

/** The error codes of the contract, as the server's document lists them. */
export type ErrorCode = components["schemas"]["ErrorDetail"]["code"];

/** A second factor offered by a 403 mfa_required (contract §7). */
export interface MfaFactor {
  id: string;
  type: "totp" | "passkey" | "recovery_code" | (string & {});
}

interface Envelope {
  error?: {
    code?: string;
    message?: string;
    request_id?: string;
    field?: string | null;
    providers?: string[];
    mfa_token?: string;
    factors?: MfaFactor[];
  };
}

/** A failed call: the contract's error envelope, typed. */
export class LatchkeyError extends Error {
  readonly status: number;
  readonly code: ErrorCode | (string & {});
  /** The offending request field, for invalid_request. */
  readonly field?: string;
  /** error.request_id (or X-Request-Id): quote it when reporting a problem. */
  readonly requestId: string;
  /** The linked providers, for oauth_only_account. */
  readonly providers?: string[];

  constructor(status: number, body: unknown, requestId = "") {
    const e = (body as Envelope | undefined)?.error ?? {};
    super(e.message ?? `HTTP ${status}`);
    this.name = "LatchkeyError";
    this.status = status;
    this.code = e.code ?? (status >= 500 ? "internal" : "unknown");
    this.field = e.field ?? undefined;
    this.requestId = e.request_id ?? requestId;
    this.providers = e.providers;
  }
}

/**
 * 403 mfa_required: the password (or OAuth) step succeeded and a second
 * factor is needed. Pass it to `client.verifyMfa` with a code.
 */
export class MfaRequiredError extends LatchkeyError {
  /** Single use, 5 minutes. */
  readonly mfaToken?: string;
  readonly factors: MfaFactor[];

  constructor(status: number, body: unknown, requestId = "") {
    super(status, body, requestId);
    this.name = "MfaRequiredError";
    const e = (body as Envelope | undefined)?.error ?? {};
    this.mfaToken = e.mfa_token;
    this.factors = e.factors ?? [];
  }
}

/** toError builds the typed error for a failed response. */
export function toError(status: number, body: unknown, requestId = ""): LatchkeyError {
  const code = (body as Envelope | undefined)?.error?.code;
  return code === "mfa_required" ? new MfaRequiredError(status, body, requestId) : new LatchkeyError(status, body, requestId);
}
