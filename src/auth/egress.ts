import { BlockList, isIP } from "node:net";
import { isLoopbackHost } from "./hosts.js";

// The user's own proxy, read from the environment as curl, Go (gh) and Python read it:
// HTTPS_PROXY / https_proxy for https, HTTP_PROXY / http_proxy for plain http, ALL_PROXY /
// all_proxy for both, NO_PROXY / no_proxy for the hosts that go direct. authsome's own calls
// (tokens, discovery, identity) and `authsome run`'s connections to services go through it, so a
// machine that reaches the internet only through a proxy works with authsome as it does with gh.
// Loopback destinations never do (as in Go): a local stand-in is not behind the user's proxy.

export interface EgressProxy {
  /** The proxy's own address (http: or https:), without credentials. */
  url: URL;
  /** The Proxy-Authorization value its URL's user info gives (Basic), if any. */
  authorization: string | undefined;
  /** The URL for messages: scheme, host and port, its user name and password starred. */
  display: string;
}

export interface EgressSettings {
  https: EgressProxy | undefined;
  http: EgressProxy | undefined;
  /** NO_PROXY's entries, lower case. */
  noProxy: string[];
  /** Proxies the environment names that cannot be used (a scheme other than http/https, not a URL), for a warning. */
  unusable: Array<{ problem: string; schemes: Array<"https" | "http"> }>;
}

/** The value of the first of these variables that is set and not empty. */
function firstSet(env: NodeJS.ProcessEnv, names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** A proxy's URL for messages: scheme, host and port, with its user name and password starred (a proxy's user name can be a key). */
function shownUrl(url: URL): string {
  const credential = url.username || url.password ? `${url.username ? "***" : ""}${url.password ? ":***" : ""}@` : "";
  return `${url.protocol}//${credential}${url.host}`;
}

/** Percent-decoded, or as written when it is not valid percent-encoding (curl sends such a value as it is). */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A proxy variable's value ("host:port" alone means http, as curl reads it), or why it cannot be used. */
function parseProxy(value: string): EgressProxy | string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    return "a value that is not a valid proxy URL"; // not shown: it may hold a password
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `${shownUrl(url)}: only http:// and https:// proxies are supported`;
  if (!url.hostname) return `${shownUrl(url)}: no host`;
  const authorization = url.username || url.password ? `Basic ${Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`).toString("base64")}` : undefined;
  return { url: new URL(url.origin), authorization, display: shownUrl(url) };
}

/** The entries of NO_PROXY and no_proxy together (clients read one or the other), lower case. */
export function noProxyEntries(env: NodeJS.ProcessEnv): string[] {
  const entries = [env.NO_PROXY, env.no_proxy].flatMap((list) => (list ?? "").split(/[,\s]+/)).map((s) => s.trim().toLowerCase());
  return [...new Set(entries.filter(Boolean))];
}

/**
 * True when a NO_PROXY entry covers `host` (a name, or an address), as curl and Go read them:
 * "*", a name, or a domain and its subdomains (with or without a leading dot or "*."), an address,
 * or an address range (CIDR); a port in an entry is ignored (the entry covers every port).
 */
export function noProxyCovers(entries: string[], host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, "");
  return entries.some((entry) => {
    if (entry === "*") return true;
    const range = /^\[?([0-9a-f:.]+)\]?\/(\d{1,3})$/.exec(entry);
    if (range) return inRange(name, range[1]!, Number(range[2]));
    const domain = entry.replace(/^\[(.*)\](:\d+)?$/, "$1").replace(/^([^:]*):\d+$/, "$1").replace(/^\*?\./, "");
    // an address is covered only by itself (or a range): "2.3" is no domain of 10.1.2.3
    return name === domain || (!isIP(name) && name.endsWith(`.${domain}`));
  });
}

function inRange(address: string, network: string, prefix: number): boolean {
  const family = isIP(network);
  if (!family || isIP(address) !== family) return false;
  const list = new BlockList();
  try {
    list.addSubnet(network, prefix, family === 4 ? "ipv4" : "ipv6");
  } catch {
    return false; // a prefix out of range: the entry covers nothing
  }
  return list.check(address, family === 4 ? "ipv4" : "ipv6");
}

export function egressSettings(env: NodeJS.ProcessEnv): EgressSettings {
  const unusable: EgressSettings["unusable"] = [];
  const read = (scheme: "https" | "http", names: string[]): EgressProxy | undefined => {
    const value = firstSet(env, names);
    if (value === undefined) return undefined;
    const parsed = parseProxy(value);
    if (typeof parsed !== "string") return parsed;
    const known = unusable.find((u) => u.problem === parsed);
    if (known) known.schemes.push(scheme);
    else unusable.push({ problem: parsed, schemes: [scheme] });
    return undefined;
  };
  return {
    https: read("https", ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
    http: read("http", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
    noProxy: noProxyEntries(env),
    unusable,
  };
}

/** The proxy a connection to `host` (a name or an address) goes through, or undefined for a direct one. */
export function egressFor(settings: EgressSettings, tls: boolean, host: string): EgressProxy | undefined {
  const proxy = tls ? settings.https : settings.http;
  if (!proxy || isLoopbackHost(host) || noProxyCovers(settings.noProxy, host)) return undefined;
  return proxy;
}

/** How a proxy's refusal reads in messages (`what`: "CONNECT host:port", or the request it refused). */
export function proxyRefused(status: number, what: string): string {
  return `answered ${status} to ${what}${status === 407 ? " (the user name or password in the proxy URL is wrong or missing)" : ""}`;
}

/** The proxy authsome's own request to `url` goes through (the process's environment), or undefined (direct). */
export function egressProxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): EgressProxy | undefined {
  return egressFor(egressSettings(env), url.protocol === "https:", url.hostname);
}

/** One undici ProxyAgent per proxy, kept for the process (its connections are pooled). */
const agents = new Map<string, Promise<unknown>>();

/**
 * fetch's `dispatcher` for a request through `proxy`: undici's ProxyAgent (a CONNECT tunnel).
 * undici is loaded only then, so a command that goes direct does not pay for it.
 */
export function proxyDispatcher(proxy: EgressProxy): Promise<unknown> {
  const key = `${proxy.url.href} ${proxy.authorization ?? ""}`;
  let dispatcher = agents.get(key);
  if (!dispatcher) {
    dispatcher = import("undici").then(({ ProxyAgent }) => new ProxyAgent({ uri: proxy.url.href, ...(proxy.authorization ? { token: proxy.authorization } : {}) }));
    agents.set(key, dispatcher);
  }
  return dispatcher;
}
