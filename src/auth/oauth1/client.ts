// OAuth 1.0a requests (RFC 5849): one signed request per call, bounded in time and size, no
// redirects followed, failures described with the server's own message and never a secret.
import { AuthenticationError } from "../../errors.js";
import type { IdentitySection } from "../../providers/schema.js";
import { fieldValue } from "../export.js";
import { assertSecureEndpoint, clean, displayUrl, MAX_RESPONSE_BYTES, networkReason, readLimited, TooLarge } from "../http.js";
import { TemporaryTokenError } from "../oauth-errors.js";
import type { OAuth1Consumer } from "./consumer.js";
import { signOAuth1Request } from "./sign.js";

const DEFAULT_TIMEOUT_MS = 30_000;

export interface OAuth1Call {
  method: "GET" | "POST";
  url: string;
  /** What the endpoint is, for messages ("request_token endpoint"). */
  what: string;
  consumer: OAuth1Consumer;
  token?: string | null;
  tokenSecret?: string | null;
  /** oauth_callback, oauth_verifier. */
  oauthParams?: Record<string, string>;
  /** Form body (signed). */
  form?: Record<string, string>;
  timeoutMs?: number;
}

export interface OAuth1Answer {
  status: number;
  contentType: string;
  text: string;
  endpoint: string;
}

/** Sends one signed request; throws TemporaryTokenError when the server cannot be reached. */
export async function oauth1Request(call: OAuth1Call): Promise<OAuth1Answer> {
  const url = assertSecureEndpoint(call.url, call.what);
  const endpoint = displayUrl(url);
  const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const authorization = signOAuth1Request({
    method: call.method,
    url: url.href,
    form: call.form,
    consumerKey: call.consumer.key,
    consumerSecret: call.consumer.secret,
    token: call.token ?? null,
    tokenSecret: call.tokenSecret ?? null,
    extraOAuthParams: call.oauthParams,
  });
  const headers: Record<string, string> = { authorization, accept: "application/json" };
  let body: string | undefined;
  if (call.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(call.form).toString();
  }
  try {
    const res = await fetch(url, { method: call.method, headers, body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    const text = await readLimited(res, MAX_RESPONSE_BYTES);
    return { status: res.status, contentType: res.headers.get("content-type") ?? "", text, endpoint };
  } catch (err) {
    const reason = err instanceof TooLarge ? `the answer is over ${MAX_RESPONSE_BYTES} bytes` : networkReason(err, timeoutMs);
    throw new TemporaryTokenError(`could not reach the ${call.what} ${endpoint}: ${reason}`, { endpoint, hint: "check the network connection and try again" });
  }
}

/** The server's own words about a failure: X's `errors[].message`, an OAuth `error`, or a problem `detail`. */
export function serverReason(answer: Pick<OAuth1Answer, "text">): string | undefined {
  const trimmed = answer.text.trim();
  try {
    const json = JSON.parse(trimmed) as Record<string, unknown>;
    const first = Array.isArray(json.errors) ? (json.errors[0] as Record<string, unknown> | undefined) : undefined;
    const message = first?.message ?? json.error_description ?? json.error ?? json.detail ?? json.title;
    if (typeof message === "string" && message) return clean(first?.code !== undefined ? `${message} (code ${String(first.code)})` : message, 200);
  } catch {
    // not JSON: X's OAuth 1.0a endpoints sometimes answer with plain text or XML
  }
  return trimmed && !/^</.test(trimmed) ? clean(trimmed, 200) : undefined;
}

/** A failed answer as an AuthenticationError naming the endpoint, the status and the server's reason. */
export function refused(answer: OAuth1Answer, what: string, hint: string): AuthenticationError {
  const reason = serverReason(answer);
  return new AuthenticationError(`the ${what} ${answer.endpoint} refused the request (HTTP ${answer.status})${reason ? `: ${reason}` : ""}`, { hint });
}

/** A form-encoded answer (request_token, access_token), refusing anything else. */
export function formAnswer(answer: OAuth1Answer, what: string, hint: string): URLSearchParams {
  if (answer.status < 200 || answer.status >= 300) throw refused(answer, what, hint);
  const params = new URLSearchParams(answer.text.trim());
  if (!params.get("oauth_token") || !params.get("oauth_token_secret")) {
    throw new AuthenticationError(`the ${what} ${answer.endpoint} answered ${answer.status} without oauth_token and oauth_token_secret`, {
      hint: `check the ${what} URL in the provider definition`,
    });
  }
  return params;
}

export interface OAuth1Identity {
  id: string | null;
  label: string | null;
}

/** Who an OAuth 1.0a token belongs to, per the definition's identity section (X accepts OAuth 1.0a on /2/users/me). */
export async function oauth1Identity(identity: IdentitySection, consumer: OAuth1Consumer, token: string, tokenSecret: string): Promise<OAuth1Identity> {
  const answer = await oauth1Request({ method: "GET", url: identity.url, what: "identity endpoint", consumer, token, tokenSecret, timeoutMs: 10_000 });
  if (answer.status < 200 || answer.status >= 300) {
    throw refused(answer, "identity endpoint", "check the access token, its secret, and the API key and secret they were issued for");
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new AuthenticationError(`the identity endpoint ${answer.endpoint} did not answer with a JSON object`);
  }
  const pick = (path?: string) => {
    const v = path ? fieldValue(body as Record<string, unknown>, path) : undefined;
    return v === undefined || v === null || typeof v === "object" ? null : String(v);
  };
  return { id: pick(identity.id_path), label: pick(identity.label_path) };
}
