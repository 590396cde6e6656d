/**
 * Pure OAuth 1.0a (RFC 5849) HMAC-SHA1 request signer.
 *
 * No I/O and no global state except the default nonce (node:crypto randomness)
 * and the default timestamp (the clock). Given the same nonce and timestamp the
 * output is fully deterministic.
 *
 * Only application/x-www-form-urlencoded body parameters take part in the
 * signature (RFC 5849 §3.4.1.3.1). Other bodies (JSON, multipart, binary) are
 * never signed, which is why this API has no `body`/`json` input at all: sign
 * such a request without `form`.
 */
import { createHmac, randomInt } from "node:crypto";

export interface OAuth1SignInput {
  /** HTTP method, any case; upper-cased for the base string. */
  method: string;
  /**
   * Absolute http(s) URL, may include a query string. Scheme and host are
   * lower-cased, the default port is dropped, the fragment and userinfo are
   * dropped.
   */
  url: string;
  /** application/x-www-form-urlencoded body params ONLY (never JSON bodies). Values are raw (not encoded). */
  form?: Record<string, string | string[]> | URLSearchParams | Array<[string, string]>;
  consumerKey: string;
  consumerSecret: string;
  /** Omitted from the request when null, undefined or "". */
  token?: string | null;
  tokenSecret?: string | null;
  /** Default: 32 random alphanumeric characters. */
  nonce?: string;
  /** Default: now, in whole seconds since the epoch. */
  timestamp?: string | number;
  /** Extra protocol params, e.g. oauth_callback, oauth_verifier. Names must start with `oauth_`. */
  extraOAuthParams?: Record<string, string>;
  /** Default "1.0"; null omits oauth_version. */
  version?: "1.0" | null;
  /** Included (first) in the Authorization header, never signed. */
  realm?: string;
}

type Pair = [string, string];

const SIGNATURE_METHOD = "HMAC-SHA1";

/** Protocol params this module sets itself; callers may not pass them via extraOAuthParams. */
const MANAGED_OAUTH_PARAMS = new Set([
  "oauth_consumer_key",
  "oauth_token",
  "oauth_signature_method",
  "oauth_signature",
  "oauth_timestamp",
  "oauth_nonce",
  "oauth_version",
]);

const NONCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * RFC 3986 §2.1 / RFC 5849 §3.6 percent-encoding: the unreserved characters
 * ALPHA, DIGIT, "-", ".", "_", "~" are kept; every other UTF-8 byte becomes
 * %XX with upper-case hex.
 */
export function percentEncode(s: string): string {
  let encoded: string;
  try {
    // encodeURIComponent encodes UTF-8 bytes with upper-case hex and keeps
    // exactly the unreserved set plus !'()* — which RFC 5849 requires encoded.
    encoded = encodeURIComponent(s);
  } catch {
    throw new TypeError("OAuth1: cannot percent-encode a string containing a lone UTF-16 surrogate");
  }
  return encoded.replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

function parseRequestUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError("OAuth1: url must be an absolute http(s) URL"); // not echoed: its query may hold anything
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`OAuth1: url must be an absolute http(s) URL, got scheme ${JSON.stringify(url.protocol)}`);
  }
  return url;
}

/** RFC 5849 §3.4.1.2: scheme://host[:non-default-port]/path, lower-cased scheme/host, no query/fragment. */
function baseStringUri(url: URL): string {
  // WHATWG URL already lower-cases scheme and host and empties `port` when it
  // is the scheme's default (80 for http, 443 for https). `host` excludes userinfo.
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const host = url.host.toLowerCase();
  const path = url.pathname === "" ? "/" : url.pathname;
  return `${scheme}://${host}${path}`;
}

function formPairs(form: OAuth1SignInput["form"]): Pair[] {
  if (form === undefined || form === null) return [];
  const out: Pair[] = [];
  const push = (name: unknown, value: unknown): void => {
    if (typeof name !== "string" || typeof value !== "string") {
      throw new TypeError(`OAuth1: form parameter names and values must be strings (parameter ${String(name)})`);
    }
    out.push([name, value]);
  };
  if (form instanceof URLSearchParams) {
    for (const [k, v] of form) push(k, v);
  } else if (Array.isArray(form)) {
    for (const entry of form) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new TypeError("OAuth1: form array entries must be [name, value] pairs");
      }
      push(entry[0], entry[1]);
    }
  } else {
    for (const [k, v] of Object.entries(form)) {
      if (Array.isArray(v)) for (const item of v) push(k, item);
      else push(k, v);
    }
  }
  return out;
}

function normalizeTimestamp(ts: string | number | undefined): string {
  if (ts === undefined) return String(Math.floor(Date.now() / 1000));
  if (typeof ts === "number") {
    if (!Number.isSafeInteger(ts) || ts < 0) {
      throw new TypeError(`OAuth1: timestamp must be a non-negative integer number of seconds, got ${ts}`);
    }
    return String(ts);
  }
  if (typeof ts !== "string" || ts === "") {
    throw new TypeError("OAuth1: timestamp must be a non-empty string or a number");
  }
  return ts;
}

function randomNonce(): string {
  let s = "";
  for (let i = 0; i < 32; i++) s += NONCE_ALPHABET[randomInt(NONCE_ALPHABET.length)];
  return s;
}

/** The oauth_* protocol params (without oauth_signature), in header order. */
function protocolParams(input: OAuth1SignInput, nonce: string, timestamp: string): Pair[] {
  if (typeof input.consumerKey !== "string") throw new TypeError("OAuth1: consumerKey must be a string");
  if (nonce === "") throw new TypeError("OAuth1: nonce must not be empty");
  const params: Pair[] = [["oauth_consumer_key", input.consumerKey]];
  if (input.token !== undefined && input.token !== null && input.token !== "") {
    params.push(["oauth_token", input.token]);
  }
  params.push(["oauth_signature_method", SIGNATURE_METHOD]);
  params.push(["oauth_timestamp", timestamp]);
  params.push(["oauth_nonce", nonce]);
  const version = input.version === undefined ? "1.0" : input.version;
  if (version !== null) params.push(["oauth_version", version]);

  const extra = input.extraOAuthParams ?? {};
  for (const name of Object.keys(extra).sort()) {
    const value = extra[name];
    if (!name.startsWith("oauth_")) {
      throw new TypeError(`OAuth1: extraOAuthParams names must start with "oauth_", got ${JSON.stringify(name)}`);
    }
    if (MANAGED_OAUTH_PARAMS.has(name)) {
      throw new TypeError(`OAuth1: ${name} is set by the signer and cannot be passed in extraOAuthParams`);
    }
    if (typeof value !== "string") {
      throw new TypeError(`OAuth1: extraOAuthParams value for ${name} must be a string`);
    }
    params.push([name, value]);
  }
  return params;
}

/** RFC 5849 §3.4.1.3.2: encode, sort by encoded name then encoded value (byte order), join. */
function normalizeParams(pairs: Pair[]): string {
  const encoded: Pair[] = pairs.map(([k, v]) => [percentEncode(k), percentEncode(v)]);
  // Encoded strings are pure ASCII, so UTF-16 code-unit comparison is byte order.
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  encoded.sort((a, b) => cmp(a[0], b[0]) || cmp(a[1], b[1]));
  return encoded.map(([k, v]) => `${k}=${v}`).join("&");
}

function buildBaseString(input: OAuth1SignInput, url: URL, oauthParams: Pair[]): string {
  if (typeof input.method !== "string" || input.method === "") {
    throw new TypeError("OAuth1: method must be a non-empty string");
  }
  const all: Pair[] = [];
  // §3.4.1.3.1: query parsed with application/x-www-form-urlencoded rules ("+" is a space).
  for (const [k, v] of url.searchParams) all.push([k, v]);
  all.push(...formPairs(input.form));
  all.push(...oauthParams);
  // oauth_signature is never signed, wherever it appears. (The Authorization
  // header's realm is never part of oauthParams; a "realm" in query/body IS signed.)
  const signed = all.filter(([k]) => k !== "oauth_signature");
  return [
    percentEncode(input.method.toUpperCase()),
    percentEncode(baseStringUri(url)),
    percentEncode(normalizeParams(signed)),
  ].join("&");
}

/** The RFC 5849 §3.4.1 signature base string. Exposed for tests and debugging. */
export function oauth1BaseString(input: OAuth1SignInput & { nonce: string; timestamp: string | number }): string {
  const url = parseRequestUrl(input.url);
  const oauth = protocolParams(input, input.nonce, normalizeTimestamp(input.timestamp));
  return buildBaseString(input, url, oauth);
}

/** RFC 7230 quoted-string for the (unsigned) realm; rejects characters that could split the header. */
function quoteRealm(realm: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000A-\u001F\u007F]/.test(realm)) {
    throw new TypeError("OAuth1: realm must not contain control characters");
  }
  return `"${realm.replace(/["\\]/g, (c) => "\\" + c)}"`;
}

/**
 * Signs the request with HMAC-SHA1 and returns the Authorization header value:
 * `OAuth [realm="...", ]oauth_consumer_key="...", ..., oauth_signature="..."`.
 */
export function signOAuth1Request(input: OAuth1SignInput): string {
  const url = parseRequestUrl(input.url);
  const nonce = input.nonce === undefined ? randomNonce() : input.nonce;
  const timestamp = normalizeTimestamp(input.timestamp);
  const oauth = protocolParams(input, nonce, timestamp);
  const baseString = buildBaseString(input, url, oauth);

  if (typeof input.consumerSecret !== "string") throw new TypeError("OAuth1: consumerSecret must be a string");
  const key = `${percentEncode(input.consumerSecret)}&${percentEncode(input.tokenSecret ?? "")}`;
  const signature = createHmac("sha1", key).update(baseString, "utf8").digest("base64");

  const parts: string[] = [];
  if (input.realm !== undefined) parts.push(`realm=${quoteRealm(input.realm)}`);
  for (const [k, v] of [...oauth, ["oauth_signature", signature] as Pair]) {
    parts.push(`${percentEncode(k)}="${percentEncode(v)}"`);
  }
  return `OAuth ${parts.join(", ")}`;
}
