import { once } from "node:events";
import net, { type Socket } from "node:net";
import tls from "node:tls";
import { egressFor, type EgressSettings } from "../auth/egress.js";
import { isLoopbackHost } from "../auth/hosts.js";
import { sameToken } from "../input/loopback.js";
import type { RunCa } from "./ca.js";
import { join, jsonResponse, serveConnection, unreachableBody, type ClientSide, type RelayContext } from "./exchange.js";
import { HeadDeadlines } from "./head-deadlines.js";
import { field, MessageError, type RequestHead } from "./http1.js";
import type { CredentialSource } from "./inject.js";
import type { SocketReader } from "./reader.js";
import { splitHostPort, type RouteTable } from "./router.js";
import { addressOf, destination, openTunnel, UpstreamPool, type Destination } from "./upstream.js";

// The run's proxy. It answers only requests that carry the run's credential. CONNECT to a
// routed host: TLS is terminated with a leaf of the run CA and each request gets its credential
// on the way out (upstream TLS verified). CONNECT to any other host: a blind byte tunnel, never
// decrypted. Plain http: forwarded, and injected only for loopback destinations when asked for.
// Services are reached through the user's own proxy when the environment names one (egress),
// except destinations that --resolve sends somewhere (local stand-ins).

export interface ProxyOptions {
  /** The per-run proxy credential (user "authsome"). */
  token: string;
  ca: RunCa;
  routes: RouteTable;
  credentials: CredentialSource;
  /** `--resolve`: "host:port" -> where to connect instead. */
  resolve?: Map<string, { host: string; port: number }>;
  /** CAs trusted upstream besides the system's (PEM). */
  upstreamCa?: string[];
  /** Plain-http requests whose destination is a loopback address get credentials too (local test servers). */
  injectLoopbackHttp?: boolean;
  /** How long a begun request head may take (HEAD_TIMEOUT_MS). */
  headTimeoutMs?: number;
  /** The user's own proxy (from authsome's environment), for connections to services. */
  egress?: EgressSettings;
}

export interface RunningProxy {
  port: number;
  close(): Promise<void>;
}

const PROXY_AUTH_REQUIRED =
  'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="authsome"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const expected = Buffer.from(`authsome:${opts.token}`).toString("base64");
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  // one context for the extra CA, made once rather than per connection
  const trust = opts.upstreamCa?.length ? { secureContext: tls.createSecureContext({ ca: [...tls.rootCertificates, ...opts.upstreamCa] }) } : {};
  const egress = (dest: Destination) => (opts.egress && !opts.resolve?.has(`${dest.host}:${dest.port}`) ? egressFor(opts.egress, dest.tls, dest.host) : undefined);
  const pool = new UpstreamPool({ ...(opts.resolve ? { resolve: opts.resolve } : {}), ...trust, track, egress });
  const heads = new HeadDeadlines(opts.headTimeoutMs);
  const ctx: RelayContext = { routes: opts.routes, credentials: opts.credentials, pool, heads };

  /** The decrypted requests of one CONNECT to a routed host. */
  const intercepted = (target: { host: string; port: number }): ClientSide => {
    const dest = destination(target.host, target.port, true);
    return {
      destination: (head) => {
        let path = head.target;
        if (!path.startsWith("/") && !(path === "*" && head.method === "OPTIONS")) {
          const url = absoluteUrl(head.target, "https:");
          path = url.pathname + url.search;
        }
        return { dest, path, inject: true };
      },
    };
  };

  /** The proxy's own port: CONNECT, or absolute-form plain-http requests. */
  const listening: ClientSide = {
    destination: (head: RequestHead, client: Socket, reader: SocketReader) => {
      // the scheme's name is case-insensitive (RFC 9110 11.1)
      const given = /^basic[ \t]+(\S+)$/i.exec(field(head, "proxy-authorization") ?? "")?.[1] ?? "";
      if (!sameToken(given, expected)) {
        client.end(PROXY_AUTH_REQUIRED);
        return undefined;
      }
      if (head.method === "CONNECT") {
        const target = splitHostPort(head.target);
        if (!/^[^\s/?#@]+$/.test(head.target) || !target.host || !/:\d+$/.test(head.target) || target.port < 1 || target.port > 65535) {
          throw new MessageError(400, "CONNECT expects HOST:PORT");
        }
        const queued = reader.detach();
        if (opts.routes.routesHost(target.host, target.port)) intercept(client, queued, target);
        else tunnel(client, queued, target);
        return undefined;
      }
      const url = absoluteUrl(head.target, "http:");
      const { host, port } = splitHostPort(url.host, 80);
      const loopback = isLoopbackHost(addressOf(opts.resolve, host, port).host);
      return { dest: destination(host, port, false), path: url.pathname + url.search, inject: Boolean(opts.injectLoopbackHttp) && loopback };
    },
  };

  function intercept(socket: Socket, queued: Buffer, target: { host: string; port: number }): void {
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (queued.length > 0) socket.unshift(queued);
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: opts.ca.secureContext(target.host), ALPNProtocols: ["http/1.1"] });
    track(secure);
    secure.on("error", () => secure.destroy());
    void serveConnection(secure, ctx, intercepted(target));
  }

  function tunnel(socket: Socket, queued: Buffer, target: { host: string; port: number }): void {
    const dest = destination(target.host, target.port, true);
    const via = egress(dest);
    const opened = via ? openTunnel(via, target.host, target.port, { ...trust, track }) : directConnection(addressOf(opts.resolve, target.host, target.port));
    opened.then(
      ({ socket: upstream, rest }) => {
        if (socket.destroyed) return void upstream.destroy();
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        join(socket, queued, upstream, rest);
      },
      (err: unknown) => void socket.end(jsonResponse(502, unreachableBody(dest, err), true)),
    );
  }

  function directConnection(to: { host: string; port: number }): Promise<{ socket: Socket; rest: Buffer }> {
    const upstream = net.connect({ host: to.host, port: to.port });
    track(upstream);
    upstream.setNoDelay(true);
    return once(upstream, "connect").then(
      () => ({ socket: upstream, rest: Buffer.alloc(0) }),
      (err: unknown) => {
        upstream.destroy();
        throw err;
      },
    );
  }

  const server = net.createServer((socket) => {
    track(socket);
    socket.setNoDelay(true);
    void serveConnection(socket, ctx, listening);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");

  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      server.close();
      for (const s of sockets) s.destroy();
      pool.close();
      heads.close();
    },
  };
}

/** An absolute-form request target with this scheme; anything else is refused with 400. */
function absoluteUrl(target: string, scheme: "http:" | "https:"): URL {
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    // refused below
  }
  if (url?.protocol !== scheme || !url.hostname) throw new MessageError(400, `expected an absolute ${scheme}// URL`);
  return url;
}
