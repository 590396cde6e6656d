// The OAuth 2.0 token endpoint client: one POST per call, client authentication per the
// provider definition, strict reading of what comes back. No printing, no retries: callers
// decide, using the error class (OAuthError vs TemporaryTokenError vs TokenEndpointError).
import { UsageError } from "../errors.js";
import type { ClientAuthMethod } from "../providers/schema.js";
import { assertSecureEndpoint, clean, displayUrl, jsonObject, MAX_RESPONSE_BYTES, networkReason, reach, readLimited, redactor, TooLarge } from "./http.js";
import { OAuthError, TemporaryTokenError, TokenEndpointError } from "./oauth-errors.js";

export interface OAuthClient {
  clientId: string;
  clientSecret?: string | null;
  authMethod: ClientAuthMethod;
  /** Also send client_id in the body with HTTP Basic (X wants both). */
  clientIdInBody?: boolean;
}

export type TokenResponseFormat = "json" | "form" | "auto";

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in?: number;
  refresh_token?: string;
  scope?: string;
  id_token?: string;
  /** Everything the server sent, as parsed (form-encoded values stay strings). */
  raw: Record<string, unknown>;
}

export interface TokenRequestParams {
  url: string;
  grant: Record<string, string>;
  client: OAuthClient;
  responseFormat?: TokenResponseFormat;
  /** Send the grant as a JSON object (Postiz's device flow) instead of a form. */
  json?: boolean;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export interface RevokeParams {
  url: string;
  token: string;
  tokenTypeHint?: "access_token" | "refresh_token";
  client: OAuthClient;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// Grant fields that are not secrets; every other grant value is redacted from messages.
const PUBLIC_FIELDS = new Set(["grant_type", "scope", "redirect_uri", "client_id", "resource", "audience", "token_type_hint"]);
// OAuth error codes that mean "try again later" rather than "this grant or client is wrong".
const TEMPORARY_ERRORS = new Set(["temporarily_unavailable", "server_error"]);

/**
 * The longest lifetime stored. Beyond it the date would leave the four-digit years the Python
 * reader parses (one such record breaks its every listing), or Date's range (a RangeError).
 */
const MAX_LIFETIME_SECONDS = 100 * 365 * 24 * 3600;

/** `expires_in` seconds after `now` (at most a century), as ISO-8601 with Z; null when the server gave no usable lifetime. */
export function expiresAt(expiresIn: number | string | undefined | null, now: Date | number = Date.now()): string | null {
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds <= 0) return null;
  const base = typeof now === "number" ? now : now.getTime();
  return new Date(base + Math.min(seconds, MAX_LIFETIME_SECONDS) * 1000).toISOString();
}

export async function tokenRequest(params: TokenRequestParams): Promise<TokenResponse> {
  const what = "token endpoint";
  const body = await post({ ...params, what, fields: params.grant });
  const { result, endpoint, status } = body;
  const raw = result ?? {};
  const accessToken = raw.access_token;
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new TokenEndpointError(`the ${what} ${endpoint} answered ${status} without an access_token`, {
      endpoint,
      status,
      hint: "the provider's token endpoint or token_response_format may be wrong in its definition",
    });
  }
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: typeof raw.token_type === "string" && raw.token_type ? raw.token_type : "Bearer",
    raw,
  };
  const expiresIn = typeof raw.expires_in === "string" ? Number(raw.expires_in) : raw.expires_in;
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0) response.expires_in = expiresIn;
  // A few servers send scope as a JSON array.
  if (Array.isArray(raw.scope)) response.scope = raw.scope.filter((v) => typeof v === "string").join(" ");
  for (const key of ["refresh_token", "scope", "id_token"] as const) {
    const value = raw[key];
    if (typeof value === "string" && value !== "") response[key] = value;
  }
  return response;
}

/** RFC 7009. A 200 means done, even for a token the server did not know. */
export async function revokeToken(params: RevokeParams): Promise<void> {
  const fields: Record<string, string> = { token: params.token };
  if (params.tokenTypeHint) fields.token_type_hint = params.tokenTypeHint;
  await post({ ...params, what: "revocation endpoint", fields, bodyOptional: true });
}

/**
 * RFC 8628 §3.1: the device authorization request, with the same client authentication as the
 * token endpoint (and client_id always in the body, as the RFC has public clients send it).
 */
export async function deviceAuthorizationRequest(params: {
  url: string;
  fields: Record<string, string>;
  client: OAuthClient;
  json?: boolean;
  timeoutMs?: number;
}): Promise<Record<string, unknown>> {
  const { result } = await post({ ...params, what: "device authorization endpoint", client: { ...params.client, clientIdInBody: true } });
  return result ?? {};
}

interface PostParams {
  url: string;
  what: string;
  fields: Record<string, string>;
  client: OAuthClient;
  responseFormat?: TokenResponseFormat;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
  /** A 2xx is success whatever the body (revocation). */
  bodyOptional?: boolean;
  /** Send the fields as a JSON object instead of a form (Postiz's device endpoint). */
  json?: boolean;
}

interface PostResult {
  result: Record<string, unknown> | undefined;
  endpoint: string;
  status: number;
}

async function post(params: PostParams): Promise<PostResult> {
  const { what } = params;
  const url = assertSecureEndpoint(params.url, what);
  const endpoint = displayUrl(url);
  const { body, headers, secrets } = encodeRequest(params.fields, params.client, params.json);
  const redact = redactor(secrets);
  const timeoutMs = params.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  // a redirect would carry the client credentials somewhere unplanned
  const res = await reach(url, { method: "POST", headers, body, redirect: "manual" }, what, { timeoutMs, redact, ...(params.fetchImpl ? { fetchImpl: params.fetchImpl } : {}) });

  const { status } = res;
  const temporaryStatus = status >= 500 || status === 429 || status === 408;
  let text: string;
  try {
    text = await readLimited(res, MAX_RESPONSE_BYTES);
  } catch (err) {
    if (err instanceof TooLarge && !temporaryStatus) {
      throw new TokenEndpointError(`the ${what} ${endpoint} answered ${status} with a response over ${MAX_RESPONSE_BYTES} bytes; refused`, {
        endpoint,
        status,
        hint: `check the ${what} URL in the provider definition`,
      });
    }
    throw new TemporaryTokenError(`the ${what} ${endpoint} answered ${status} but the response could not be read: ${redact(networkReason(err, timeoutMs))}`, {
      endpoint,
      status,
      hint: "try again later",
      cause: err,
    });
  }

  const contentType = res.headers.get("content-type") ?? "";
  const result = parseBody(text, contentType, params.responseFormat ?? "auto");
  const error = result?.error;
  if (typeof error === "string" && error !== "") {
    const code = redact(clean(error, 100));
    const description = typeof result?.error_description === "string" ? redact(clean(result.error_description, 300)) : undefined;
    const message = `the ${what} ${endpoint} refused the request (HTTP ${status}): ${code}${description ? `: ${description}` : ""}`;
    if (temporaryStatus || TEMPORARY_ERRORS.has(error)) {
      throw new TemporaryTokenError(message, { endpoint, status, error: code, errorDescription: description, hint: "try again later" });
    }
    throw new OAuthError(message, { endpoint, status, error: code, errorDescription: description, hint: hintFor(error, params.client) });
  }
  if (temporaryStatus) {
    throw new TemporaryTokenError(`the ${what} ${endpoint} answered ${status}`, { endpoint, status, hint: "the server is failing or busy; try again later" });
  }
  if (status >= 300 && status < 400) {
    throw new TokenEndpointError(`the ${what} ${endpoint} answered with a redirect (${status}); not followed`, {
      endpoint,
      status,
      hint: `put the final ${what} URL in the provider definition`,
    });
  }
  if (status < 200 || status >= 300) {
    throw new TokenEndpointError(`the ${what} ${endpoint} answered ${status} without an OAuth error`, {
      endpoint,
      status,
      hint: `check the ${what} URL in the provider definition`,
    });
  }
  if (!result && !params.bodyOptional) {
    throw new TokenEndpointError(`the ${what} ${endpoint} answered ${status} with a body that is not an OAuth response (content-type: ${clean(contentType, 80) || "none"})`, {
      endpoint,
      status,
      hint: `check the ${what} URL and token_response_format in the provider definition`,
    });
  }
  return { result, endpoint, status };
}

/** Form body and headers, with client authentication per RFC 6749 §2.3.1. */
function encodeRequest(fields: Record<string, string>, client: OAuthClient, json = false) {
  const clientId = client.clientId.trim();
  if (!clientId) throw new UsageError("the OAuth client has no client_id", { hint: "pass --client-id or set the definition's client_id_env" });
  const secret = client.clientSecret?.trim() || undefined;
  const form = new URLSearchParams(fields);
  form.delete("client_secret");
  const headers: Record<string, string> = {
    accept: "application/json",
    "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
  };
  const secrets = Object.entries(fields)
    .filter(([key]) => !PUBLIC_FIELDS.has(key))
    .map(([, value]) => value);
  if (secret) secrets.push(secret);

  if (client.authMethod !== "none" && !secret) {
    throw new UsageError(`client authentication ${client.authMethod} needs a client secret, and none is stored`, {
      hint: "log in again to enter the client secret, or set the definition's client_secret_env",
    });
  }
  switch (client.authMethod) {
    case "client_secret_basic": {
      // Each part form-urlencoded before base64, so ':' or '%' in a secret survive.
      const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
      headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret!)}`).toString("base64")}`;
      if (client.clientIdInBody) form.set("client_id", clientId);
      else form.delete("client_id");
      break;
    }
    case "client_secret_post":
      form.set("client_id", clientId);
      form.set("client_secret", secret!);
      break;
    case "none":
      form.set("client_id", clientId);
      break;
  }
  if (json) {
    headers["content-type"] = "application/json";
    return { body: JSON.stringify(Object.fromEntries(form)), headers, secrets };
  }
  return { body: form.toString(), headers, secrets };
}

function parseBody(text: string, contentType: string, format: TokenResponseFormat): Record<string, unknown> | undefined {
  const type = contentType.toLowerCase();
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  const asJson = () => jsonObject(trimmed);
  const asForm = () => (FORM_BODY.test(trimmed) ? Object.fromEntries(new URLSearchParams(trimmed)) : undefined);
  if (type.includes("json") || format === "json") return asJson();
  if (format === "form" || type.includes("application/x-www-form-urlencoded")) return asForm();
  // "auto" with an unhelpful type (GitHub has sent text/plain): whichever parses.
  return asJson() ?? asForm();
}
const FORM_BODY = /^[\w.~%+-]+=[^\s<>"{}]*(?:&[\w.~%+-]+=[^\s<>"{}]*)*$/;

function hintFor(error: string, client: OAuthClient): string | undefined {
  switch (error) {
    case "invalid_client":
      return `check the client id and secret, and that the provider expects ${client.authMethod}`;
    case "invalid_grant":
      return "the code or refresh token is invalid, expired or already used; log in again";
    case "invalid_scope":
      return "request scopes the provider supports (--scopes)";
    case "unauthorized_client":
      return "the client is not allowed this grant type; check its settings at the provider";
    default:
      return undefined;
  }
}
