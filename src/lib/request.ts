// The pieces of the library's fetch that need no store: what a request is, whether its body can
// be sent twice, and whether a URL is one of the provider's routes (the proxy's own router).
import { UsageError } from "../errors.js";
import { kindName } from "../auth/connection-fields.js";
import { displayUrl } from "../auth/http.js";
import { isLoopbackHost } from "../auth/hosts.js";
import type { ProviderDefinition } from "../providers/schema.js";
import { definitionRoutes, RouteTable, unroutedReason, type RouteMatch } from "../proxy/router.js";
import type { ConnectionAuthType, ConnectionRecord } from "../vault/records.js";

const FORM = "application/x-www-form-urlencoded;charset=UTF-8";

/** One request, taken apart once so that it can be sent again (after a refresh, or a redirect). */
export interface PreparedRequest {
  url: URL;
  method: string;
  headers: Headers;
  body: BodyInit | null;
  /** The body can be sent again: none, a string, bytes, a Blob or FormData (not a stream). */
  replayable: boolean;
  redirect: RequestRedirect;
  /** Everything else of the caller's init (signal, cache, duplex...), passed through. */
  rest: RequestInit;
}

export function isReplayable(body: unknown): boolean {
  return (
    body === null ||
    body === undefined ||
    typeof body === "string" ||
    body instanceof URLSearchParams ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    body instanceof Blob ||
    body instanceof FormData
  );
}

/** The URL, when it is an absolute one (URL.parse is newer than the Node versions this supports). */
export function absoluteUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** Merges a Request or URL with init as fetch would; a Request's body is read into memory so it can be replayed. */
export async function prepareRequest(input: string | URL | Request, init: RequestInit = {}): Promise<PreparedRequest> {
  const { method, headers: initHeaders, body: initBody, redirect, ...rest } = init;
  const isRequest = typeof Request !== "undefined" && input instanceof Request;
  const url = absoluteUrl(isRequest ? input.url : String(input));
  if (!url) throw new UsageError("fetch needs an absolute URL", { hint: "pass https://host/path" });
  // fetch itself would refuse it with the whole URL, password included, in its message
  if (url.username || url.password) {
    throw new UsageError(`fetch URLs may not carry a user name or password: ${displayUrl(url)}`, { hint: "send credentials of your own in a header; the provider's credential is added for you" });
  }
  const headers = new Headers(isRequest ? input.headers : undefined);
  new Headers(initHeaders).forEach((value, name) => headers.set(name, value));
  let body: BodyInit | null = initBody ?? null;
  if (initBody === undefined && isRequest && input.body !== null) body = await input.arrayBuffer();
  if (body instanceof URLSearchParams) {
    // sent as the very string OAuth 1.0a signs
    body = body.toString();
    if (!headers.has("content-type")) headers.set("content-type", FORM);
  }
  if (!rest.signal && isRequest) rest.signal = input.signal;
  return {
    url,
    method: (method ?? (isRequest ? input.method : "GET")).toUpperCase(),
    headers,
    body,
    replayable: isReplayable(body),
    redirect: redirect ?? (isRequest ? input.redirect : "follow"),
    rest,
  };
}

/**
 * The body as OAuth 1.0a sees it: text or bytes (a Request's body is read as bytes), which are
 * signed when the content type says they are a form. Streams, Blobs and FormData never are.
 */
export function signableBody(req: Pick<PreparedRequest, "body" | "headers">): { body?: string | Buffer; contentType?: string } {
  const { body } = req;
  let signable: string | Buffer;
  if (typeof body === "string") signable = body;
  else if (body instanceof ArrayBuffer) signable = Buffer.from(body);
  else if (ArrayBuffer.isView(body)) signable = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  else return {};
  return { body: signable, contentType: req.headers.get("content-type") ?? undefined };
}

/** Routes the provider's credential may go to; built from the definition as `authsome run` builds them. */
export class ProviderRoutes {
  private readonly table: RouteTable;

  constructor(
    private readonly definition: ProviderDefinition,
    private readonly connection: Pick<ConnectionRecord, "connection_name" | "auth_type">,
  ) {
    this.table = new RouteTable({
      definitions: [definition],
      connections: [{ provider: definition.name, connection: connection.connection_name, authType: connection.auth_type }],
    });
  }

  /** True when the URL is https (or http on loopback) and one of the routes, and not an auth endpoint. */
  allows(url: URL): boolean {
    return this.matchIn(this.table, url) !== undefined;
  }

  private matchIn(table: RouteTable, url: URL): RouteMatch | undefined {
    const secure = url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname));
    if (!secure) return undefined;
    const port = url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return table.match(host, port, url.pathname);
  }

  /** Throws a UsageError naming the origin (never the query) when the credential may not go there. */
  assertAllowed(url: URL): void {
    if (this.allows(url)) return;
    // routed, but for another kind of credential than this connection's (X: OAuth 2.0 for /2/, OAuth 1.0a for /1.1/)
    const kinds: ConnectionAuthType[] = ["oauth2", "app_only", "oauth1", "api_key"];
    const anyKind = new RouteTable({ definitions: [this.definition], connections: kinds.map((k) => ({ provider: this.definition.name, connection: k, authType: k })) });
    const other = this.matchIn(anyKind, url);
    if (other) {
      throw new UsageError(`${displayUrl(url)} is routed for ${kindName(other.authType)} of "${this.definition.name}", and the connection "${this.connection.connection_name}" is ${kindName(this.connection.auth_type)}`, {
        hint: "pass { connection: NAME } for a connection of that kind",
      });
    }
    const routes = definitionRoutes(this.definition)
      .map((r) => (r.host_pattern ? `/${r.host_pattern}/` : r.host) + (r.path_prefix ?? ""))
      .join(", ");
    throw new UsageError(`refusing to send the credential of "${this.definition.name}" to ${displayUrl(url)}: it is not one of the provider's routes`, {
      hint: routes
        ? `its routes: ${routes} (https only; plain http only on loopback)`
        : `"${this.definition.name}" is not routed: ${unroutedReason(this.definition)}; add routes to its definition`,
    });
  }
}
