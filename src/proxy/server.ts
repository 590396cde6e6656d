import { timingSafeEqual } from "node:crypto";
import { once } from "node:events";
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import https from "node:https";
import net, { type Socket } from "node:net";
import tls, { type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import type { RunCa } from "./ca.js";
import { CredentialSource, InjectionError, type Injection } from "./inject.js";
import { splitHostPort, type RouteMatch, type RouteTable } from "./router.js";

// The run's proxy. CONNECT to a routed host: TLS is terminated with a leaf of the run CA and
// each request gets its credential on the way out (upstream TLS verified). CONNECT to any
// other host: a blind byte tunnel, never decrypted. Plain http: forwarded, never injected.
// Bodies stream both ways; only small bodies are held, so a 401 can be retried after a refresh.

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
  /** Non-secret notices (route ties). */
  onNotice?: (message: string) => void;
}

export interface RunningProxy {
  port: number;
  close(): Promise<void>;
}

/** Bodies up to this size are held so that a 401 can be retried after a refresh. */
const RETRY_BUFFER_LIMIT = 64 * 1024;
/** Form bodies are always held (OAuth 1.0a signs them), up to this size. */
const FORM_BUFFER_LIMIT = 8 * 1024 * 1024;

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

interface Target {
  host: string;
  port: number;
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const expected = Buffer.from(`Basic ${Buffer.from(`authsome:${opts.token}`).toString("base64")}`);
  const sockets = new Set<Duplex>();
  const targets = new WeakMap<object, Target>();
  const track = <T extends Duplex>(s: T): T => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    return s;
  };

  // one context for the extra CA: passing `ca` per request would make the agent's pool key huge
  const secureContext = opts.upstreamCa?.length ? tls.createSecureContext({ ca: [...tls.rootCertificates, ...opts.upstreamCa] }) : undefined;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: "lifo" });
  const plainAgent = new http.Agent({ keepAlive: true });

  const where = (t: Target): Target => opts.resolve?.get(`${t.host}:${t.port}`) ?? t;

  const authorized = (req: IncomingMessage): boolean => {
    const got = Buffer.from(req.headers["proxy-authorization"] ?? "");
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  // --- the decrypted side of routed hosts -----------------------------------------------
  const inner = http.createServer({ keepAlive: true, requestTimeout: 0, headersTimeout: 120_000 });
  inner.on("request", (req, res) => {
    const target = targets.get(req.socket);
    if (!target) return void res.destroy();
    handleRouted(req, res, target).catch(() => {
      if (!res.headersSent) sendJson(res, 502, { error: "proxy_error", message: "the request could not be forwarded" });
      else res.destroy();
    });
  });
  inner.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = targets.get(req.socket);
    if (!target) return void socket.destroy();
    handleUpgrade(req, socket, head, target).catch(() => socket.destroy());
  });
  inner.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  function injectedHeaders(req: IncomingMessage, target: Target, injection: Injection | undefined): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    const drop = new Set(HOP_BY_HOP);
    for (const token of String(req.headers.connection ?? "").split(",")) drop.add(token.trim().toLowerCase());
    if (injection) for (const name of injection.replace) drop.add(name);
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || drop.has(name)) continue;
      out[name] = value;
    }
    out.host = target.port === 443 ? target.host : `${target.host}:${target.port}`;
    if (injection) {
      for (const [name, value] of Object.entries(injection.headers)) {
        const lower = name.toLowerCase();
        // the definition's extra headers yield to the child's own; the credential never does
        if (injection.extras.includes(lower) && !injection.replace.includes(lower) && req.headers[lower] !== undefined) continue;
        out[lower] = value;
      }
    }
    return out;
  }

  function upstreamRequest(target: Target, method: string, path: string, headers: OutgoingHttpHeaders, useAgent: https.Agent | false): http.ClientRequest {
    const to = where(target);
    return https.request({
      host: to.host,
      port: to.port,
      servername: net.isIP(target.host) ? undefined : target.host,
      method,
      path,
      headers,
      agent: useAgent,
      ...(secureContext ? { secureContext } : {}),
      // certificates are checked against the name the child asked for, not the --resolve address
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(target.host, cert),
    });
  }

  async function handleRouted(req: IncomingMessage, res: ServerResponse, target: Target): Promise<void> {
    if (hasLineBreaks(req.rawHeaders)) return sendJson(res, 400, { error: "bad_request", message: "request headers must not contain line breaks" });
    const path = req.url ?? "/";
    const match = opts.routes.match(target.host, target.port, path);
    const url = `https://${target.host}${target.port === 443 ? "" : `:${target.port}`}${path}`;
    const contentType = req.headers["content-type"];
    const isForm = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? "");
    const length = req.headers["content-length"] === undefined ? undefined : Number(req.headers["content-length"]);
    const chunked = req.headers["transfer-encoding"] !== undefined;
    const noBody = !chunked && (length === undefined || length === 0);

    // hold the body when it is small (a 401 can then be retried) or a form OAuth 1.0a must sign
    let body: Buffer | undefined;
    if (match && (noBody || (!chunked && length! <= RETRY_BUFFER_LIMIT) || (isForm && match.authType === "oauth1"))) {
      body = noBody ? Buffer.alloc(0) : await readBody(req, FORM_BUFFER_LIMIT);
      if (body === undefined) return sendJson(res, 413, { error: "body_too_large", message: "form bodies signed with OAuth 1.0a are limited to 8 MiB" });
    }

    let injection: Injection | undefined;
    const authRequest = { method: req.method ?? "GET", url, ...(body && isForm ? { body, contentType: contentType! } : {}) };
    if (match) {
      try {
        injection = await opts.credentials.inject(match, authRequest);
      } catch (err) {
        return failClosed(res, match, err);
      }
    }

    const send = (inj: Injection | undefined, retried: boolean): void => {
      const headers = injectedHeaders(req, target, inj);
      if (body) {
        delete headers["transfer-encoding"];
        if (body.length > 0 || length !== undefined) headers["content-length"] = String(body.length);
      }
      const up = upstreamRequest(target, req.method ?? "GET", path, headers, agent);
      up.on("socket", (s: Socket) => s.setNoDelay(true));
      up.on("error", () => {
        if (!res.headersSent) sendJson(res, 502, { error: "upstream_unreachable", message: `${target.host} could not be reached or its certificate is not trusted` });
        else res.destroy();
      });
      up.on("response", (upRes) => {
        if (upRes.statusCode === 401 && !retried && body && match && inj?.refreshable) {
          upRes.resume();
          opts.credentials.retryAfter401(match, authRequest, inj.refreshable).then(
            (next) => {
              if (next) return send(next, true);
              // nothing new to try: replay the 401 the provider gave
              return send(inj, true);
            },
            (err: unknown) => failClosed(res, match, err),
          );
          return;
        }
        relayResponse(upRes, res);
      });
      res.on("close", () => {
        if (!res.writableFinished) up.destroy();
      });
      if (body) up.end(body);
      else req.pipe(up);
    };
    send(injection, false);
  }

  async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target): Promise<void> {
    if (hasLineBreaks(req.rawHeaders)) return void socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    const path = req.url ?? "/";
    const match = opts.routes.match(target.host, target.port, path);
    let injection: Injection | undefined;
    if (match) {
      try {
        injection = await opts.credentials.inject(match, { method: req.method ?? "GET", url: `https://${target.host}${target.port === 443 ? "" : `:${target.port}`}${path}` });
      } catch (err) {
        const body = JSON.stringify(failureBody(match, err));
        return void socket.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
    }
    const headers = injectedHeaders(req, target, injection);
    headers.connection = "Upgrade";
    headers.upgrade = req.headers.upgrade ?? "websocket";
    const up = upstreamRequest(target, req.method ?? "GET", path, headers, false);
    pipeUpgrade(up, socket, head);
    up.end();
  }

  // --- the listening side ------------------------------------------------------------------
  const server = http.createServer({ keepAlive: true, requestTimeout: 0 });
  server.on("connection", (s: Socket) => {
    track(s);
    s.setNoDelay(true);
  });
  server.on("connect", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    if (!authorized(req)) return void socket.end(PROXY_AUTH_REQUIRED);
    const target = splitHostPort(req.url ?? "");
    if (!target.host || !Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
      return void socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    }
    if (opts.routes.routesHost(target.host, target.port)) intercept(socket, head, target);
    else tunnel(socket, head, target);
  });
  server.on("request", (req, res) => {
    if (!authorized(req)) {
      res.writeHead(407, { "Proxy-Authenticate": 'Basic realm="authsome"', "Content-Length": "0", Connection: "close" });
      return void res.end();
    }
    forwardPlain(req, res);
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!authorized(req)) return void socket.end(PROXY_AUTH_REQUIRED);
    let url: URL;
    try {
      url = new URL(req.url ?? "");
    } catch {
      return void socket.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    }
    const t = splitHostPort(url.host, 80);
    const to = where(t);
    const headers = plainHeaders(req);
    headers.connection = "Upgrade";
    headers.upgrade = req.headers.upgrade ?? "websocket";
    const up = http.request({ host: to.host, port: to.port, method: req.method, path: url.pathname + url.search, headers, agent: false });
    pipeUpgrade(up, socket, head);
    up.end();
  });
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    else socket.destroy();
  });

  function intercept(socket: Socket, head: Buffer, target: Target): void {
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
    if (head.length > 0) socket.unshift(head);
    const secure: TLSSocket = track(
      new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: opts.ca.secureContext(target.host),
        ALPNProtocols: ["http/1.1"],
      }),
    );
    secure.on("error", () => secure.destroy());
    targets.set(secure, target);
    inner.emit("connection", secure);
  }

  function tunnel(socket: Socket, head: Buffer, target: Target): void {
    const to = where(target);
    const upstream = track(net.connect({ host: to.host, port: to.port }));
    upstream.setNoDelay(true);
    let connected = false;
    upstream.once("connect", () => {
      connected = true;
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
    });
    upstream.on("error", () => {
      if (!connected) socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      else socket.destroy();
    });
    socket.on("close", () => upstream.destroy());
    upstream.on("close", () => socket.destroy());
  }

  function forwardPlain(req: IncomingMessage, res: ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? "");
      if (url.protocol !== "http:") throw new Error("not http");
    } catch {
      return sendJson(res, 400, { error: "bad_request", message: "expected an absolute http:// URL" });
    }
    if (hasLineBreaks(req.rawHeaders)) return sendJson(res, 400, { error: "bad_request", message: "request headers must not contain line breaks" });
    const to = where(splitHostPort(url.host, 80));
    const up = http.request({ host: to.host, port: to.port, method: req.method, path: url.pathname + url.search, headers: plainHeaders(req), agent: plainAgent });
    up.on("error", () => {
      if (!res.headersSent) sendJson(res, 502, { error: "upstream_unreachable", message: `${url.hostname} could not be reached` });
      else res.destroy();
    });
    up.on("response", (upRes) => relayResponse(upRes, res));
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  }

  function plainHeaders(req: IncomingMessage): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    const drop = new Set(HOP_BY_HOP);
    drop.delete("host");
    for (const token of String(req.headers.connection ?? "").split(",")) drop.add(token.trim().toLowerCase());
    for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !drop.has(name)) out[name] = value;
    return out;
  }

  inner.on("connection", () => {}); // sockets are handed over by intercept()
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    async close() {
      server.close();
      inner.close();
      for (const s of sockets) s.destroy();
      agent.destroy();
      plainAgent.destroy();
    },
  };

  function failClosed(res: ServerResponse, match: RouteMatch, err: unknown): void {
    sendJson(res, 502, failureBody(match, err));
  }
}

const PROXY_AUTH_REQUIRED =
  'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="authsome"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';

function failureBody(match: RouteMatch, err: unknown): Record<string, string> {
  const login = `authsome login ${match.provider}${match.connection === "default" ? "" : ` --connection ${match.connection}`}`;
  return {
    error: "authsome_no_credential",
    provider: match.provider,
    connection: match.connection,
    message: err instanceof InjectionError ? err.message : `no credential for "${match.provider}"`,
    hint: err instanceof InjectionError ? err.hint : `run \`${login}\``,
    login,
  };
}

function sendJson(res: ServerResponse, status: number, body: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "X-Authsome-Proxy": "1" });
  res.end(text);
}

function hasLineBreaks(raw: string[]): boolean {
  return raw.some((v) => v.includes("\r") || v.includes("\n"));
}

/** Reads a whole body; undefined when it is larger than limit. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Status, headers (raw, minus hop-by-hop) and body of the upstream response, streamed to the child. */
function relayResponse(upRes: IncomingMessage, res: ServerResponse): void {
  const raw: string[] = [];
  const connectionTokens = new Set(String(upRes.headers.connection ?? "").split(",").map((t) => t.trim().toLowerCase()));
  for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
    const name = upRes.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (lower === "connection" || lower === "keep-alive" || lower === "proxy-connection" || (connectionTokens.has(lower) && lower !== "transfer-encoding")) continue;
    raw.push(name, upRes.rawHeaders[i + 1]!);
  }
  res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, raw);
  // a stream (server-sent events) may wait before its first byte: its headers go at once; a body
  // of known length follows its headers at once, and goes in the same write
  if (upRes.headers["content-length"] === undefined) res.flushHeaders();
  upRes.pipe(res);
  upRes.on("error", () => res.destroy());
}

/** Sends an upgrade request upstream and, on 101, joins the two sockets; anything else is relayed. */
function pipeUpgrade(up: http.ClientRequest, socket: Duplex, head: Buffer): void {
  socket.on("error", () => up.destroy());
  up.on("error", () => socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
  up.on("upgrade", (upRes: IncomingMessage, upSocket: Socket, upHead: Buffer) => {
    upSocket.setNoDelay(true);
    socket.write(`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n${rawHeaderLines(upRes.rawHeaders)}\r\n`);
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    socket.pipe(upSocket);
    upSocket.pipe(socket);
    socket.on("close", () => upSocket.destroy());
    upSocket.on("close", () => socket.destroy());
    upSocket.on("error", () => socket.destroy());
  });
  up.on("response", (upRes: IncomingMessage) => {
    // refused upgrade: relay the answer with its body delimited by the connection's end
    const raw: string[] = [];
    for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
      const lower = upRes.rawHeaders[i]!.toLowerCase();
      if (lower !== "transfer-encoding" && lower !== "connection" && lower !== "keep-alive") raw.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
    }
    socket.write(`HTTP/1.1 ${upRes.statusCode} ${upRes.statusMessage}\r\n${rawHeaderLines(raw)}Connection: close\r\n\r\n`);
    upRes.pipe(socket);
  });
}

function rawHeaderLines(raw: string[]): string {
  let out = "";
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return out;
}

