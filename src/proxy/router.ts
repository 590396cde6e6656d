import type { ProviderDefinition, Route } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { ConnectionAuthType } from "../vault/records.js";

// Pure routing: which connection's credential (if any) an HTTPS request gets. No I/O.
// A route names a host (exact, or "*." on whole labels), optionally a path prefix and an
// anchored host pattern; the most specific matching route wins, ties go to the first in
// (provider name, definition order) and are reported once.

/** One connection the run may use: its provider, name and credential kind. */
export interface AvailableConnection {
  provider: string;
  connection: string;
  authType: ConnectionAuthType;
}

/** Where a routed request's credential comes from. */
export interface RouteTarget {
  provider: string;
  connection: string;
  authType: ConnectionAuthType;
}

interface CompiledRoute extends RouteTarget {
  /** Exact host name, no port (lowercase). */
  exact?: string;
  /** ".suffix" of a "*.suffix" wildcard. */
  suffix?: string;
  pattern?: RegExp;
  port: number;
  pathPrefix: string;
  /** Position in the table, for deterministic ties. */
  order: number;
  label: string;
}

export interface RouteTableInput {
  definitions: ProviderDefinition[];
  /** Connections chosen per provider and kind (see chooseConnections). */
  connections: AvailableConnection[];
  /** `--use P=CONNECTION`: the preferred connection of a provider. */
  preferred?: Record<string, string>;
  /** Default connection names per provider. */
  defaults?: Record<string, string | null | undefined>;
}

/**
 * The connection kinds that may serve a route, in order of preference; undefined: any. An app-only
 * bearer serves an "oauth2" route after every kind the route names, unless the route places it.
 */
export function routeKinds(auth: Route["auth"]): ConnectionAuthType[] | undefined {
  if (auth === undefined) return undefined;
  const kinds: ConnectionAuthType[] = Array.isArray(auth) ? [...auth] : [auth];
  if (kinds.includes("oauth2") && !kinds.includes("app_only")) kinds.push("app_only");
  return kinds;
}

/** Splits "host[:port]" (IPv6 in brackets) into a lowercase host and a port (default 443). */
export function splitHostPort(authority: string, defaultPort = 443): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(authority) ?? /^([^:]+)(?::(\d+))?$/.exec(authority);
  if (!m) return { host: authority.toLowerCase(), port: defaultPort };
  return { host: m[1]!.toLowerCase().replace(/\.$/, ""), port: m[2] ? Number(m[2]) : defaultPort };
}

function hostOf(value: string): string | undefined {
  if (value.includes("://")) {
    try {
      const u = new URL(value);
      return u.protocol === "https:" ? u.host : undefined;
    } catch {
      return undefined;
    }
  }
  return value;
}

/**
 * The routes of a definition; without `routes`, its host_url (`"routes": []` routes nothing). A
 * Python "regex:" host_url is no route: its patterns (.*googleapis.*) match anyone's host, and the
 * credential would go there.
 */
export function definitionRoutes(def: ProviderDefinition): Route[] {
  if (Array.isArray(def.routes)) return def.routes;
  const hostUrl = def.host_url ?? (typeof def.oauth?.base_url === "string" ? def.oauth.base_url : undefined);
  if (!hostUrl || hostUrl.startsWith("regex:")) return [];
  const host = hostOf(hostUrl);
  return host ? [{ host: host.toLowerCase() }] : [];
}

/** Why a definition routes nothing (definitionRoutes is empty), in words: its "routes": [], a Python "regex:" host_url, or neither routes nor host_url. */
export function unroutedReason(def: ProviderDefinition): string {
  if (Array.isArray(def.routes)) return 'its definition says "routes": []';
  if (def.host_url?.startsWith("regex:")) return `a "regex:" host_url routes nothing (give the definition routes: authsome inspect ${def.name})`;
  return "it has no routes or host_url";
}

/**
 * The connection that serves a route: the preferred one (--use) if it fits, else, kind by kind in the
 * route's order, the default connection if it is of that kind, else the first of that kind.
 */
export function pickConnection(
  candidates: AvailableConnection[],
  kinds: ConnectionAuthType[] | undefined,
  preferred: string | undefined,
  fallback: string | null | undefined,
): AvailableConnection | undefined {
  const named = (name: string | null | undefined) => (name ? candidates.find((x) => x.connection === name) : undefined);
  const chosen = named(preferred);
  // a connection named with --use that does not fit this route: the route's own preference decides
  if (chosen && (!kinds || kinds.includes(chosen.authType))) return chosen;
  const byDefault = named(fallback);
  if (!kinds) return byDefault ?? candidates[0];
  for (const kind of kinds) {
    if (byDefault?.authType === kind) return byDefault;
    const first = candidates.find((x) => x.authType === kind);
    if (first) return first;
  }
  return undefined;
}

function compileHost(route: Route): Pick<CompiledRoute, "exact" | "suffix" | "pattern" | "port"> | undefined {
  const pattern = typeof route.host_pattern === "string" && route.host_pattern !== "" ? route.host_pattern : undefined;
  if (pattern) {
    try {
      // anchored: "api\\.example\\.com" never matches "api.example.com.evil.test"
      return { pattern: new RegExp(`^(?:${pattern})$`, "i"), port: 443 };
    } catch {
      return undefined;
    }
  }
  if (!route.host) return undefined;
  const { host, port } = splitHostPort(route.host);
  if (host.startsWith("*.")) return { suffix: host.slice(1), port };
  return { exact: host, port };
}

export interface RouteMatch extends RouteTarget {
  /** The matched route, as "host/path_prefix" (for logs). */
  route: string;
}

/** How many "host:port" keys the table remembers the matching routes of (a child asks about few). */
const HOST_CACHE_LIMIT = 256;

export class RouteTable {
  private readonly routes: CompiledRoute[] = [];
  private readonly authEndpoints = new Set<string>();
  /** "host:port" of every auth endpoint: only their paths need a closer look. */
  private readonly authHosts = new Set<string>();
  /** The routes whose host part fits, with that part's score, per "host:port" already asked about. */
  private readonly byHost = new Map<string, Array<{ route: CompiledRoute; score: number }>>();
  private readonly reported = new Set<string>();

  constructor(
    input: RouteTableInput,
    /** Called once per distinct tie between equally specific routes. */
    private readonly onTie: (message: string) => void = () => {},
  ) {
    const defs = [...input.definitions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const def of defs) {
      const candidates = input.connections.filter((c) => c.provider === def.name);
      if (candidates.length === 0) continue;
      for (const url of authEndpointUrls(def)) {
        this.authEndpoints.add(url);
        this.authHosts.add(url.slice(0, url.indexOf("/")));
      }
      for (const route of definitionRoutes(def)) {
        const chosen = pickConnection(candidates, routeKinds(route.auth), input.preferred?.[def.name], input.defaults?.[def.name]);
        if (!chosen) continue; // no connection of the kind this route takes: not injected
        const host = compileHost(route);
        if (!host) continue;
        this.routes.push({
          ...host,
          provider: def.name,
          connection: chosen.connection,
          authType: chosen.authType,
          pathPrefix: route.path_prefix ?? "",
          order: this.routes.length,
          label: `${route.host_pattern ? `/${route.host_pattern}/` : route.host}${route.path_prefix ?? ""}`,
        });
      }
    }
  }

  private hostScore(r: CompiledRoute, host: string, port: number): number {
    if (r.port !== port) return 0;
    if (r.exact !== undefined) return r.exact === host ? 3_000 : 0;
    if (r.suffix !== undefined) return host.endsWith(r.suffix) && host.length > r.suffix.length ? 2_000 + r.suffix.length : 0;
    return r.pattern!.test(host) ? 1_000 : 0;
  }

  /** True when some route names this host: its TLS is terminated, everything else is tunnelled blind. */
  routesHost(host: string, port: number): boolean {
    const h = host.toLowerCase();
    return this.hostCandidates(`${h}:${port}`, h, port).length > 0;
  }

  private hostCandidates(key: string, host: string, port: number): Array<{ route: CompiledRoute; score: number }> {
    let list = this.byHost.get(key);
    if (!list) {
      list = [];
      for (const route of this.routes) {
        const score = this.hostScore(route, host, port);
        if (score > 0) list.push({ route, score });
      }
      if (this.byHost.size >= HOST_CACHE_LIMIT) this.byHost.clear();
      this.byHost.set(key, list);
    }
    return list;
  }

  /** The route of an HTTPS request, or undefined: not routed, or an auth endpoint (never injected). */
  match(host: string, port: number, path: string): RouteMatch | undefined {
    const h = host.toLowerCase();
    const key = `${h}:${port}`;
    const candidates = this.hostCandidates(key, h, port);
    if (candidates.length === 0) return undefined;
    const end = path.search(/[?#]/);
    const pathname = resolvedPath(end < 0 ? path : path.slice(0, end));
    if (this.authHosts.has(key) && this.isAuthEndpoint(key, pathname)) return undefined;
    let best: CompiledRoute | undefined;
    let bestScore = 0;
    let tie: CompiledRoute | undefined;
    for (const { route: r, score: hs } of candidates) {
      if (!pathname.startsWith(r.pathPrefix)) continue;
      // host specificity first, then the longer path prefix
      const score = hs * 10_000 + r.pathPrefix.length;
      if (score > bestScore) {
        best = r;
        bestScore = score;
        tie = undefined;
      } else if (score === bestScore && best && !tie && (r.provider !== best.provider || r.connection !== best.connection)) {
        tie = r;
      }
    }
    if (!best) return undefined;
    if (tie) this.reportTie(best, tie, h);
    return { provider: best.provider, connection: best.connection, authType: best.authType, route: best.label };
  }

  private reportTie(winner: CompiledRoute, loser: CompiledRoute, host: string): void {
    const key = `${winner.order}/${loser.order}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.onTie(
      `routes ${winner.provider} (${winner.label}) and ${loser.provider} (${loser.label}) both match ${host} equally; using ${winner.provider}/${winner.connection}`,
    );
  }

  /** `pathname` as resolvedPath gives it. */
  private isAuthEndpoint(hostPort: string, pathname: string): boolean {
    return this.authEndpoints.has(`${hostPort}${endpointKey(pathname)}`);
  }

  /** The host names the routes name ("*.example.com" for a wildcard; patterns have none), for reporting. */
  get hostNames(): string[] {
    return [...new Set(this.routes.flatMap((r) => (r.exact !== undefined ? [r.exact] : r.suffix !== undefined ? [`*${r.suffix}`] : [])))];
  }

  /** The providers that have at least one route (for reporting). */
  get providers(): string[] {
    return [...new Set(this.routes.map((r) => r.provider))];
  }

  get size(): number {
    return this.routes.length;
  }
}

/**
 * The path as a server resolves it, for matching (the request goes on as the child wrote it):
 * percent-encoded unreserved characters decoded, repeated slashes merged, dot segments removed
 * (RFC 3986 6.2.2, 5.2.4). Else "/v1/../oauth2/token" or "/oauth2/%74oken" would slip past an
 * auth endpoint, and "/a/../b/" would take the credential of a route for "/a/".
 */
export function resolvedPath(pathname: string): string {
  if (!/%|\/\.|\/\/|\\/.test(pathname)) return pathname;
  // a backslash counts as a slash, as servers that parse with the URL standard read it
  const decoded = pathname.replace(/\\/g, "/").replace(/%([0-9a-fA-F]{2})/g, (escape, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : escape;
  });
  const segments: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "..") segments.pop();
    else if (segment !== "." && segment !== "") segments.push(segment);
  }
  const trailing = segments.length > 0 && /\/\.{0,2}$/.test(decoded);
  return "/" + segments.join("/") + (trailing ? "/" : "");
}

/** An auth endpoint's resolved path as compared: without trailing slashes, in lower case (a server may not mind case). */
function endpointKey(resolved: string): string {
  return (resolved.length > 1 ? resolved.replace(/\/+$/, "") : resolved).toLowerCase();
}

/** The definition's token, authorize, revoke, device, registration and OAuth 1.0a/app-only endpoints as "host:port/path". */
export function authEndpointUrls(def: ProviderDefinition): string[] {
  let oauth = def.oauth;
  try {
    oauth = expandBaseUrl(def).oauth;
  } catch {
    // templated URLs whose base is unknown: those cannot be requested, nothing to exclude
  }
  const urls = [
    oauth?.authorization_url,
    oauth?.token_url,
    oauth?.revocation_url,
    oauth?.device_authorization_url,
    oauth?.registration_endpoint,
    def.oauth1?.request_token_url,
    def.oauth1?.authorize_url,
    def.oauth1?.authenticate_url,
    def.oauth1?.access_token_url,
    def.oauth1?.invalidate_url,
    def.app_only?.token_url,
    def.app_only?.invalidate_url,
  ];
  const out: string[] = [];
  for (const raw of urls) {
    if (typeof raw !== "string" || raw === "") continue;
    try {
      const u = new URL(raw);
      const port = u.port ? Number(u.port) : u.protocol === "http:" ? 80 : 443;
      const path = endpointKey(resolvedPath(u.pathname));
      // an IPv6 literal without its brackets, as requests name it
      const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
      out.push(`${host.toLowerCase()}:${port}${path}`);
    } catch {
      // not a URL: nothing to exclude
    }
  }
  return out;
}
