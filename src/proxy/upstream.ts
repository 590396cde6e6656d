import { once } from "node:events";
import net, { type Socket } from "node:net";
import tls, { type SecureContext } from "node:tls";
import { proxyRefused, type EgressProxy } from "../auth/egress.js";
import { HEAD_LIMIT, parseResponseHead } from "./http1.js";
import { SocketReader } from "./reader.js";

// Connections to the services, kept open between requests (per host, most recently used
// first). TLS is verified against the name the child asked for, whatever address --resolve
// sends it to; sessions are resumed on new connections. Where the user's own proxy applies
// (egress.ts), https goes through a CONNECT tunnel and plain http to the proxy itself.

export interface Destination {
  /** The name the child asked for (certificates are checked against it). */
  host: string;
  port: number;
  tls: boolean;
  /** The Host field for it ("name", or "name:port" off the scheme's default port). */
  authority: string;
  /** "https://name:port": which pooled connections can serve it. */
  key: string;
}

/** A destination, with what every request to it needs worked out once. */
export function destination(host: string, port: number, tls: boolean): Destination {
  const name = host.includes(":") ? `[${host}]` : host;
  return { host, port, tls, authority: port === (tls ? 443 : 80) ? name : `${name}:${port}`, key: `${tls ? "https" : "http"}://${host}:${port}` };
}

export interface UpstreamConnection {
  socket: Socket;
  reader: SocketReader;
  /** True when the connection served an earlier request (it may have been closed meanwhile). */
  reused: boolean;
  key: string;
  /** When it went back to the pool (performance.now()). */
  idleSince: number;
  /** Plain http through the user's proxy: requests go to it in absolute form, with its credential. */
  forwardProxy: EgressProxy | undefined;
}

export interface UpstreamOptions {
  /** `--resolve`: "host:port" -> where to connect instead. */
  resolve?: Map<string, { host: string; port: number }>;
  /** Trust for TLS upstream when it is more than the system's. */
  secureContext?: SecureContext;
  /** Every socket opened, so that closing the proxy can end them. */
  track: (socket: Socket) => void;
  /** The user's proxy a destination is reached through, if any. */
  egress?: (dest: Destination) => EgressProxy | undefined;
}

const MAX_IDLE_PER_HOST = 64;
/** An idle connection older than this is not reused (services close theirs after a while; no timer per connection). */
const IDLE_LIMIT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 30_000;

/** A failure past the user's proxy (inside its tunnel): which proxy the connection went through. */
export interface ThroughProxy {
  egressProxy?: EgressProxy;
}

/** The user's proxy could not be used, or refused: the message names it (password starred). */
export class EgressError extends Error {
  constructor(
    readonly proxy: EgressProxy,
    readonly reason: string,
  ) {
    super(`the proxy ${proxy.display} ${reason}`);
  }
}

/** Where `--resolve` sends a name, or the name itself. */
export function addressOf(resolve: UpstreamOptions["resolve"], host: string, port: number): { host: string; port: number } {
  return resolve?.get(`${host}:${port}`) ?? { host, port };
}

export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly sessions = new Map<string, Buffer>();

  constructor(private readonly opts: UpstreamOptions) {}

  /** An open connection to `dest`: an idle one at once when there is one, else a new one (rejects when it cannot be made). */
  acquire(dest: Destination): UpstreamConnection | Promise<UpstreamConnection> {
    const list = this.idle.get(dest.key);
    while (list && list.length > 0) {
      const conn = list.pop()!;
      if (conn.socket.destroyed || !conn.reader.idle || performance.now() - conn.idleSince > IDLE_LIMIT_MS) {
        conn.socket.destroy();
        continue;
      }
      conn.reused = true;
      conn.reader.received = 0;
      return conn;
    }
    return this.open(dest);
  }

  private async open(dest: Destination): Promise<UpstreamConnection> {
    const via = this.opts.egress?.(dest);
    const socket = await this.connect(dest, via);
    const conn: UpstreamConnection = { socket, reader: new SocketReader(socket), reused: false, key: dest.key, idleSince: 0, forwardProxy: dest.tls ? undefined : via };
    socket.once("close", () => this.forget(conn));
    return conn;
  }

  /** Back to the pool after a complete exchange, when the service keeps it open. */
  release(conn: UpstreamConnection): void {
    if (conn.socket.destroyed || !conn.reader.idle) return void conn.socket.destroy();
    const list = this.idle.get(conn.key) ?? [];
    if (list.length >= MAX_IDLE_PER_HOST) return void conn.socket.destroy();
    conn.idleSince = performance.now();
    list.push(conn);
    this.idle.set(conn.key, list);
  }

  private forget(conn: UpstreamConnection): void {
    const list = this.idle.get(conn.key);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  private async connect(dest: Destination, via: EgressProxy | undefined): Promise<Socket> {
    const to = addressOf(this.opts.resolve, dest.host, dest.port);
    let socket: Socket;
    if (dest.tls) {
      const tunnel = via ? await tunnelThrough(via, dest.host, dest.port, this.opts) : undefined;
      const secure = tls.connect({
        ...(tunnel ? { socket: tunnel } : { host: to.host, port: to.port }),
        servername: net.isIP(dest.host) ? undefined : dest.host,
        ALPNProtocols: ["http/1.1"],
        session: this.sessions.get(dest.key),
        ...(this.opts.secureContext ? { secureContext: this.opts.secureContext } : {}),
        // checked against the name the child asked for, not the --resolve address
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(dest.host, cert),
      });
      secure.on("session", (session: Buffer) => this.sessions.set(dest.key, session));
      socket = secure;
    } else if (via) {
      return proxyConnection(via, this.opts);
    } else {
      socket = net.connect({ host: to.host, port: to.port });
    }
    try {
      await established(socket, dest.tls, this.opts.track);
    } catch (err) {
      // a handshake inside the proxy's tunnel: its messages name the proxy
      if (via && err instanceof Error) (err as ThroughProxy).egressProxy = via;
      throw err;
    }
    return socket;
  }

  close(): void {
    for (const list of this.idle.values()) for (const conn of list) conn.socket.destroy();
    this.idle.clear();
  }
}

/** An open connection to the user's proxy (TLS for an https:// one, verified like the services). */
async function proxyConnection(proxy: EgressProxy, opts: Pick<UpstreamOptions, "secureContext" | "track">): Promise<Socket> {
  const host = proxy.url.hostname.replace(/^\[|\]$/g, "");
  const secure = proxy.url.protocol === "https:";
  const port = Number(proxy.url.port) || (secure ? 443 : 80);
  const socket = secure
    ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...(opts.secureContext ? { secureContext: opts.secureContext } : {}) })
    : net.connect({ host, port });
  try {
    await established(socket, secure, opts.track);
  } catch (err) {
    throw new EgressError(proxy, `could not be reached (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return socket;
}

/** Waits until `socket` is connected (its TLS handshake done, when `secure`) within CONNECT_TIMEOUT_MS; tracked, and destroyed when it fails. */
async function established(socket: Socket, secure: boolean, track: UpstreamOptions["track"]): Promise<void> {
  track(socket);
  socket.setNoDelay(true);
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error("no answer within 30 s")));
  try {
    await once(socket, secure ? "secureConnect" : "connect");
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.setTimeout(0);
}

/**
 * A tunnel to host:port through the user's proxy (CONNECT, with the proxy's credential), and what
 * the proxy sent past its answer; rejects with EgressError when the proxy refuses or cannot be reached.
 */
export async function openTunnel(proxy: EgressProxy, host: string, port: number, opts: Pick<UpstreamOptions, "secureContext" | "track">): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = await proxyConnection(proxy, opts);
  const authority = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${proxy.authorization ? `Proxy-Authorization: ${proxy.authorization}\r\n` : ""}\r\n`);
  let silent = false;
  socket.setTimeout(CONNECT_TIMEOUT_MS, () => {
    silent = true;
    socket.destroy();
  });
  const reader = new SocketReader(socket);
  try {
    const raw = await reader.head(HEAD_LIMIT, 502);
    if (!raw) throw new EgressError(proxy, silent ? `did not answer CONNECT ${authority} within 30 s` : `closed the connection instead of answering CONNECT ${authority}`);
    const answer = parseResponseHead(raw);
    if (answer.status < 200 || answer.status > 299) throw new EgressError(proxy, proxyRefused(answer.status, `CONNECT ${authority}`));
  } catch (err) {
    socket.destroy();
    throw err instanceof EgressError ? err : new EgressError(proxy, `answered CONNECT ${authority} with something other than HTTP (${(err as Error).message})`);
  }
  socket.setTimeout(0);
  const rest = reader.detach();
  socket.pause();
  return { socket, rest };
}

/** A tunnel for TLS to the service: nothing may come before the service's own handshake. */
async function tunnelThrough(proxy: EgressProxy, host: string, port: number, opts: Pick<UpstreamOptions, "secureContext" | "track">): Promise<Socket> {
  const { socket, rest } = await openTunnel(proxy, host, port, opts);
  if (rest.length > 0) {
    socket.destroy();
    throw new EgressError(proxy, "sent bytes of its own into the tunnel before the service's TLS handshake");
  }
  return socket;
}
