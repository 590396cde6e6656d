// OAuth 1.0a requests (RFC 5849): one signed request per call, bounded in time and size, no
// redirects followed, failures described with the server's own message and never a secret.
import { AuthenticationError } from "../../errors.js";
import type { IdentitySection } from "../../providers/schema.js";
import { assertSecureEndpoint, clean, jsonObject, redactor, sendBounded, type BoundedAnswer } from "../http.js";
import { identityFrom, type Identity } from "../identity.js";
import type { OAuth1Consumer } from "./consumer.js";
import { signOAuth1Request } from "./sign.js";

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

/** Sends one signed request; throws TemporaryTokenError when the server cannot be reached. */
export async function oauth1Request(call: OAuth1Call): Promise<BoundedAnswer> {
  const url = assertSecureEndpoint(call.url, call.what);
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
  if (call.form) headers["content-type"] = "application/x-www-form-urlencoded";
  const body = call.form ? new URLSearchParams(call.form).toString() : undefined;
  return sendBounded(url.href, call.what, { method: call.method, headers, body, timeoutMs: call.timeoutMs });
}

/** The server's own words about a failure: X's `errors[].message`, an OAuth `error`, or a problem `detail`. */
export function serverReason(answer: Pick<BoundedAnswer, "text">): string | undefined {
  const trimmed = answer.text.trim();
  const json = jsonObject(trimmed);
  if (json) {
    const first = Array.isArray(json.errors) ? (json.errors[0] as Record<string, unknown> | undefined) : undefined;
    const message = first?.message ?? json.error_description ?? json.error ?? json.detail ?? json.title;
    if (typeof message === "string" && message) return clean(first?.code !== undefined ? `${message} (code ${String(first.code)})` : message, 200);
  }
  // not JSON: X's OAuth 1.0a endpoints sometimes answer with plain text or XML
  return trimmed && !/^</.test(trimmed) ? clean(trimmed, 200) : undefined;
}

/**
 * A failed answer as an AuthenticationError naming the endpoint, the status and the server's
 * reason, with any of `secrets` the server echoed removed.
 */
export function refused(answer: BoundedAnswer, what: string, hint: string, secrets: string[] = []): AuthenticationError {
  const reason = serverReason(answer);
  const shown = reason === undefined ? undefined : redactor(secrets)(reason);
  return new AuthenticationError(`the ${what} ${answer.endpoint} refused the request (HTTP ${answer.status})${shown ? `: ${shown}` : ""}`, { hint });
}

/** A form-encoded answer (request_token, access_token), refusing anything else. */
export function formAnswer(answer: BoundedAnswer, what: string, hint: string): URLSearchParams {
  if (answer.status < 200 || answer.status >= 300) throw refused(answer, what, hint);
  const params = new URLSearchParams(answer.text.trim());
  if (!params.get("oauth_token") || !params.get("oauth_token_secret")) {
    throw new AuthenticationError(`the ${what} ${answer.endpoint} answered ${answer.status} without oauth_token and oauth_token_secret`, {
      hint: `check the ${what} URL in the provider definition`,
    });
  }
  return params;
}

/** Who an OAuth 1.0a token belongs to, per the definition's identity section (X accepts OAuth 1.0a on /2/users/me). */
export async function oauth1Identity(identity: IdentitySection, consumer: OAuth1Consumer, token: string, tokenSecret: string): Promise<Identity> {
  const answer = await oauth1Request({ method: "GET", url: identity.url, what: "identity endpoint", consumer, token, tokenSecret, timeoutMs: 10_000 });
  if (answer.status < 200 || answer.status >= 300) {
    throw refused(answer, "identity endpoint", "check the access token, its secret, and the API key and secret they were issued for");
  }
  const body = jsonObject(answer.text);
  if (!body) throw new AuthenticationError(`the identity endpoint ${answer.endpoint} did not answer with a JSON object`);
  return identityFrom(identity, body);
}
