// A local HTTPS server that stands in for real services (api.openai.com, api.x.com, ...): its own
// CA (made with the openssl CLI, independent of the proxy's code), one certificate for every
// host name it serves, and a log of what each request carried. Also: server-sent events,
// redirects, sized bodies, a WebSocket echo and an optional per-request authorizer; for the
// wire-level tests: chunked and close-delimited answers, bodiless statuses and raw headers.
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { join } from "node:path";
import { WebSocketServer } from "ws";
import { tempDir } from "../helpers.js";

export interface Recorded {
  /** The SNI name the client sent. */
  sni: string | undefined;
  host: string | undefined;
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** Names and values as they arrived, repeats included (headers keeps only one Authorization). */
  rawHeaders: string[];
  body: string;
  /** Size and sha256 (hex) of the body bytes as received (binary-safe, unlike body). */
  bodyBytes: number;
  bodySha256: string;
  /** True when the TLS client presented a certificate (only the child's own handshake can). */
  clientCert: boolean;
  websocket?: boolean;
}

export interface TlsPeer {
  port: number;
  /** PEM file of the peer's CA (for --upstream-ca and for clients that talk to it directly). */
  caFile: string;
  /** A client certificate and key signed by the peer CA (to prove a handshake is the child's own). */
  clientCertFile: string;
  clientKeyFile: string;
  requests: Recorded[];
  /** How many TLS connections clients have opened to the peer so far. */
  connections(): number;
  clear(): void;
  close(): Promise<void>;
}

export interface TlsPeerOptions {
  hosts: string[];
  /** Returns a status to refuse a request with (401), or undefined to serve it. */
  authorize?: (req: IncomingMessage) => number | undefined | Promise<number | undefined>;
  /** Serve the bare repositories under this directory at /git/ (git's smart HTTP, via git http-backend). */
  gitRoot?: string;
  /**
   * Drop a connection that stays idle this many ms after an answer, while the answers still
   * announce Node's default "Keep-Alive: timeout=5" (an upstream that closes earlier than it says).
   */
  keepAliveTimeout?: number;
}

/** git's smart HTTP through `git http-backend` (CGI). */
function gitBackend(root: string, req: IncomingMessage, body: Buffer, res: ServerResponse, url: URL): void {
  const child = spawn("git", ["http-backend"], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: "1",
      PATH_INFO: url.pathname.slice("/git".length),
      QUERY_STRING: url.search.slice(1),
      REQUEST_METHOD: req.method ?? "GET",
      CONTENT_TYPE: req.headers["content-type"] ?? "",
      CONTENT_LENGTH: String(body.length),
      HTTP_CONTENT_ENCODING: req.headers["content-encoding"] ?? "",
      GIT_PROTOCOL: String(req.headers["git-protocol"] ?? ""),
    },
  });
  const out: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.on("close", () => {
    const all = Buffer.concat(out);
    const end = all.indexOf("\r\n\r\n");
    const head = all.subarray(0, end).toString("latin1").split("\r\n");
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head) {
      const i = line.indexOf(":");
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number(value.split(" ")[0]);
      else if (name) headers[name] = value;
    }
    res.writeHead(status, headers);
    res.end(all.subarray(end + 4));
  });
  // git may answer and exit before it has read all of the body: its answer is what counts, and the
  // pipe it closed must not end the test process with an uncaught EPIPE
  child.stdin.on("error", () => {});
  child.stdin.end(body);
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: "ignore" });
}

/** CA, server certificate (every host as a SAN) and client certificate, with the openssl CLI. */
export function makeCertificates(hosts: string[]): { dir: string; ca: string; cert: string; key: string; clientCert: string; clientKey: string } {
  const dir = tempDir("authsome-peer-ca-");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=authsome test peer CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  const san = hosts.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  writeFileSync(join(dir, "server.ext"), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=authsome test peer"], dir);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"], dir);
  writeFileSync(join(dir, "client.ext"), "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n");
  openssl(["req", ...ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=authsome test child"], dir);
  openssl(["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2", "-extfile", "client.ext"], dir);
  return { dir, ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key"), clientCert: join(dir, "client.pem"), clientKey: join(dir, "client.key") };
}

function record(req: IncomingMessage, raw: Buffer, websocket = false): Recorded {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate?.();
  return {
    sni: (socket as TLSSocket & { servername?: string | false }).servername || undefined,
    host: req.headers.host,
    method: req.method ?? "GET",
    path: req.url ?? "/",
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body: raw.toString("utf8"),
    bodyBytes: raw.length,
    bodySha256: createHash("sha256").update(raw).digest("hex"),
    clientCert: Boolean(peer && Object.keys(peer).length > 0),
    ...(websocket ? { websocket } : {}),
  };
}

/** A small JSON answer: a counter the child asks the peer for. */
function sendJson(res: ServerResponse, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/** Bytes each /flood?id= answer has handed its socket so far (for backpressure checks). */
const floodWritten = new Map<string, number>();

async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (url.pathname === "/flood") {
    // n bytes, written only as fast as the connection takes them (waiting for "drain")
    const n = Number(url.searchParams.get("n") ?? 1024);
    const id = url.searchParams.get("id") ?? "";
    const piece = Buffer.alloc(64 * 1024, 99);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": n });
    let written = 0;
    while (written < n && !res.destroyed) {
      const size = Math.min(piece.length, n - written);
      const more = res.write(size === piece.length ? piece : piece.subarray(0, size));
      written += size;
      floodWritten.set(id, written);
      if (!more) await Promise.race([once(res, "drain"), once(res, "close")]);
    }
    return void res.end();
  }
  if (url.pathname === "/flood-written") {
    return sendJson(res, { written: floodWritten.get(url.searchParams.get("id") ?? "") ?? 0 });
  }
  if (url.pathname === "/sse") {
    const n = Number(url.searchParams.get("n") ?? 5);
    const interval = Number(url.searchParams.get("interval") ?? 200);
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    for (let i = 0; i < n; i++) {
      res.write(`id: ${i}\ndata: ${Date.now()}\n\n`);
      await new Promise((r) => setTimeout(r, interval));
    }
    return void res.end();
  }
  if (url.pathname === "/redirect") {
    res.writeHead(302, { Location: url.searchParams.get("to") ?? "/" });
    return void res.end();
  }
  if (url.pathname === "/bytes") {
    const n = Number(url.searchParams.get("n") ?? 1024);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": n });
    return void res.end(Buffer.alloc(n, 97));
  }
  if (url.pathname === "/chunked") {
    // n chunks of "chunk <i>\n", a short pause between them, no Content-Length
    const n = Number(url.searchParams.get("n") ?? 3);
    res.writeHead(200, { "Content-Type": "text/plain" });
    for (let i = 0; i < n; i++) {
      res.write(`chunk ${i}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return void res.end();
  }
  if (url.pathname === "/close-delimited") {
    // neither Content-Length nor chunked: the body ends where the connection does (raw bytes)
    const n = Number(url.searchParams.get("n") ?? 10_000);
    const socket = res.socket!;
    socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nX-Framing: close\r\n\r\n");
    for (let sent = 0; sent < n; sent += 4096) {
      socket.write(Buffer.alloc(Math.min(4096, n - sent), 98));
      await new Promise((r) => setTimeout(r, 2));
    }
    return void socket.end();
  }
  if (url.pathname === "/ambiguous-length") {
    // framing an intermediary must settle before forwarding (RFC 9112 6.3): Content-Length beside chunked, or twice
    const socket = res.socket!;
    const kind = url.searchParams.get("kind");
    if (kind === "te-cl") socket.write("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    else socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Between: 1\r\nContent-Length: 5\r\n\r\nhello");
    return;
  }
  if (url.pathname === "/drop") {
    // the request is read (and recorded), then the connection is dropped without an answer
    return void req.socket.destroy();
  }
  if (url.pathname === "/early-hints") {
    res.writeEarlyHints({ link: "</style.css>; rel=preload" });
    await new Promise((r) => setTimeout(r, 20));
  }
  if (url.pathname === "/status") {
    // a bodiless status; cl= adds a Content-Length (a 304 may describe the representation)
    const code = Number(url.searchParams.get("code") ?? 204);
    const cl = url.searchParams.get("cl");
    res.writeHead(code, { "X-Status": String(code), ETag: '"v1"', ...(cl !== null ? { "Content-Length": cl } : {}) });
    return void res.end();
  }
  if (url.pathname === "/big-head") {
    // an answer whose head carries a field of kib KiB
    res.writeHead(200, { "X-Big": "b".repeat(Number(url.searchParams.get("kib")) * 1024), "Content-Length": 2 });
    return void res.end("ok");
  }
  if (url.pathname === "/raw-headers") {
    // names in odd case, repeated fields, a comma inside a cookie, a custom reason phrase
    const body = "raw headers\n";
    res.writeHead(203, "Fine By Me", [
      "x-MiXeD-cAsE", "Value With  Two Spaces",
      "Set-Cookie", "session=abc; Path=/; HttpOnly",
      "set-cookie", "pref=dark; Expires=Wed, 21 Oct 2099 07:28:00 GMT",
      "SET-COOKIE", "third=3",
      "Link", "</a>; rel=preload",
      "Link", "</b>; rel=preload",
      "X-Empty", "",
      "WWW-Authenticate", 'Bearer realm="one"',
      "WWW-Authenticate", 'Basic realm="two"',
      "Content-Type", "text/plain; charset=utf-8",
      "Content-Length", String(Buffer.byteLength(body)),
    ]);
    return void res.end(body);
  }
  const text = JSON.stringify({ ok: true, host: req.headers.host, path: url.pathname });
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), "X-Peer": "tls-server", "Set-Cookie": ["a=1", "b=2"] });
  res.end(text);
}

export async function startTlsPeer(options: TlsPeerOptions): Promise<TlsPeer> {
  const certs = makeCertificates(options.hosts);
  const requests: Recorded[] = [];
  const server = https.createServer({
    key: readFileSync(certs.key),
    cert: readFileSync(certs.cert),
    requestCert: true,
    rejectUnauthorized: false,
    keepAlive: true,
    // past the proxy's own 64 KiB limit, so that the proxy's limit is the one tested
    maxHeaderSize: 256 * 1024,
  });
  const idleTimers = new WeakMap<object, NodeJS.Timeout>();
  let connections = 0;
  server.on("secureConnection", () => void connections++);
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const idleMs = options.keepAliveTimeout;
    if (idleMs !== undefined) {
      const socket = req.socket;
      clearTimeout(idleTimers.get(socket));
      res.on("finish", () => idleTimers.set(socket, setTimeout(() => socket.destroy(), idleMs)));
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      requests.push(record(req, raw));
      const url = new URL(req.url ?? "/", "https://peer");
      const refuse = await options.authorize?.(req);
      if (refuse) {
        res.writeHead(refuse, { "Content-Type": "application/json", "WWW-Authenticate": 'Bearer error="invalid_token"' });
        return void res.end(JSON.stringify({ error: "invalid_token" }));
      }
      if (options.gitRoot && url.pathname.startsWith("/git/")) return gitBackend(options.gitRoot, req, raw, res, url);
      if (url.pathname === "/seen-count") {
        // how many requests so far had a target starting with ?prefix= (for a child that cannot see the peer)
        const prefix = url.searchParams.get("prefix") ?? "";
        return sendJson(res, { count: requests.filter((q) => q.path.startsWith(prefix)).length });
      }
      if (url.pathname === "/oauth/token") {
        // a token endpoint for the tests of how authsome's own calls travel (through a user's
        // proxy): each refresh grant gets a new access token
        if (new URLSearchParams(raw.toString("utf8")).get("grant_type") !== "refresh_token") return void res.writeHead(400, { "Content-Type": "application/json" }).end('{"error":"unsupported_grant_type"}');
        return sendJson(res, { access_token: `peer-issued-${requests.length}`, token_type: "Bearer", expires_in: 3600 });
      }
      await serve(req, res, url);
    });
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on("upgrade", async (req: IncomingMessage, socket, head) => {
    requests.push(record(req, Buffer.alloc(0), true));
    const refuse = await options.authorize?.(req);
    if (refuse) return void socket.end(`HTTP/1.1 ${refuse} Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    caFile: certs.ca,
    clientCertFile: certs.clientCert,
    clientKeyFile: certs.clientKey,
    requests,
    connections: () => connections,
    clear: () => void requests.splice(0),
    close: async () => {
      wss.close();
      server.closeAllConnections();
      server.close();
    },
  };
}
