// Small HTTP pieces every outbound call of auth shares: which endpoints are acceptable, reading
// bounded bodies, and describing failures without credentials or query strings.
import { UsageError } from "../errors.js";
import { egressProxyFor, proxyDispatcher, proxyRefused, type EgressProxy } from "./egress.js";
import { isLoopbackHost } from "./hosts.js";
import { TemporaryTokenError } from "./oauth-errors.js";

export const MAX_RESPONSE_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

/** https, or http on a loopback address (local servers, tests). Throws UsageError naming the endpoint. */
export function assertSecureEndpoint(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`the ${what} is not a valid URL`, { hint: `check the ${what} in the provider definition` });
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && isLoopbackHost(parsed.hostname)) return parsed;
  throw new UsageError(`the ${what} ${displayUrl(parsed)} must use https`, {
    hint: "plain http is accepted only for loopback addresses (127.0.0.1, ::1, localhost); fix the URL in the provider definition or --base-url",
  });
}

export class TooLarge extends Error {}

/** The body as text, refusing (and not reading further) past `limit` bytes. */
export async function readLimited(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new TooLarge();
  }
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new TooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === "string") return cause.code;
  if (cause && typeof cause.message === "string") return clean(cause.message, 200);
  return err instanceof Error ? clean(err.message, 200) : "network error";
}

/** Origin and path only: no credentials, no query. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** One line of at most `max` characters, with no control characters (C0, DEL, C1: no terminal escape sequences). */
export function clean(text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}


export interface BoundedAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The endpoint as messages name it: origin and path, no query. */
  endpoint: string;
}

export interface BoundedInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

/** Where fetch goes, and how: through the user's proxy when the environment names one (Node's fetch reads no proxy variables). */
interface Reach {
  timeoutMs: number;
  fetchImpl?: typeof fetch;
  /** Takes secrets out of a failure's text. */
  redact?: (text: string) => string;
}

/**
 * fetch, through the environment's proxy where it applies (egress.ts), bounded in time. A failure
 * to reach `url` throws TemporaryTokenError naming the endpoint (and the proxy, when there is one).
 */
export async function reach(url: URL, init: RequestInit, what: string, how: Reach): Promise<Response> {
  const proxy = egressProxyFor(url);
  try {
    const options: RequestInit & { dispatcher?: unknown } = { ...init, signal: AbortSignal.timeout(how.timeoutMs) };
    if (proxy) options.dispatcher = await proxyDispatcher(proxy);
    return await (how.fetchImpl ?? fetch)(url, options);
  } catch (err) {
    const refused = proxy ? proxyRefusal(err) : undefined;
    const reason = refused ? `the proxy ${proxyRefused(refused, `CONNECT ${url.hostname}:${url.port || (url.protocol === "https:" ? 443 : 80)}`)}` : networkReason(err, how.timeoutMs);
    throw unreachable(url, what, (how.redact ?? String)(reason), proxy, err);
  }
}

/** The status of a CONNECT the proxy refused: undici's ProxyAgent tells it deep in the error's causes ("Proxy response (407) !== 200 ..."). */
function proxyRefusal(err: unknown): number | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const status = /^Proxy response \((\d{3})\)/.exec(e.message)?.[1];
    if (status) return Number(status);
  }
  return undefined;
}

/** The error for an endpoint that could not be reached (or whose answer could not be read), naming the proxy it was reached through. */
export function unreachable(url: URL, what: string, reason: string, proxy: EgressProxy | undefined, cause?: unknown): TemporaryTokenError {
  const endpoint = displayUrl(url);
  return new TemporaryTokenError(`could not reach the ${what} ${endpoint}${proxy ? ` through the proxy ${proxy.display}` : ""}: ${reason}`, {
    endpoint,
    hint: proxy ? "check the proxy (HTTPS_PROXY, NO_PROXY) and the network connection, and try again" : "check the network connection and try again",
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * One request: https only (loopback excepted), no redirects followed, bounded in time and size.
 * An endpoint that cannot be reached, or answers with more than MAX_RESPONSE_BYTES, throws
 * TemporaryTokenError naming it; HTTP statuses are the caller's to judge.
 */
export async function sendBounded(url: string, what: string, init: BoundedInit = {}): Promise<BoundedAnswer> {
  const target = assertSecureEndpoint(url, what);
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const res = await reach(target, { method: init.method ?? "GET", headers: init.headers, body: init.body, redirect: "manual" }, what, { timeoutMs });
  try {
    return { status: res.status, headers: res.headers, text: await readLimited(res, MAX_RESPONSE_BYTES), endpoint: displayUrl(target) };
  } catch (err) {
    throw unreachable(target, what, err instanceof TooLarge ? `the answer is over ${MAX_RESPONSE_BYTES} bytes` : networkReason(err, timeoutMs), egressProxyFor(target));
  }
}

/** The text as a JSON object, or undefined (not JSON, or an array or a scalar). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  /** The parsed object, or undefined when the body is not a JSON object. */
  json: Record<string, unknown> | undefined;
}

/** sendBounded for an answer that should be a JSON object (metadata, identity, registration); 10 s by default. */
export async function requestJson(url: string, what: string, init: BoundedInit = {}): Promise<JsonAnswer> {
  const answer = await sendBounded(url, what, { timeoutMs: 10_000, ...init, headers: { accept: "application/json", ...init.headers } });
  return { status: answer.status, headers: answer.headers, json: jsonObject(answer.text) };
}

/** Removes each secret (and its percent-encoded spelling) from a text a server may have echoed. */
export function redactor(secrets: string[]): (text: string) => string {
  // Servers may echo a value percent-encoded, so both spellings are removed.
  const list = [...new Set(secrets.flatMap((s) => [s, encodeURIComponent(s)]))]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length);
  return (text) => list.reduce((acc, s) => acc.split(s).join("[redacted]"), text);
}
