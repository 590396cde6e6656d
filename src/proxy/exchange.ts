import type { Socket } from "node:net";
import { Transform, type Duplex } from "node:stream";
import { finished } from "node:stream/promises";
import { proxyRefused } from "../auth/egress.js";
import type { RequestToAuthorize } from "../auth/request-auth.js";
import {
  ambiguousLength,
  ChunkedBody,
  endToEnd,
  field,
  fieldTokens,
  has,
  HEAD_LIMIT,
  keepsAlive,
  localResponse,
  MessageError,
  parseRequestHead,
  parseResponseHead,
  relayedResponseHead,
  requestFraming,
  responseFraming,
  serializeRequest,
  type Fields,
  type RequestHead,
  type ResponseHead,
} from "./http1.js";
import { InjectionError, type CredentialSource, type Injection } from "./inject.js";
import { isFull, room, SocketReader } from "./reader.js";
import type { RouteMatch, RouteTable } from "./router.js";
import { EgressError, type Destination, type ThroughProxy, type UpstreamConnection, type UpstreamPool } from "./upstream.js";
import type { HeadDeadlines } from "./head-deadlines.js";

// One client connection's requests, in order: each is read, given its credential when a route
// matches, sent upstream on a pooled connection and answered with the service's response, byte
// for byte. Small bodies are held so that a 401 can be retried after a refresh; everything
// else streams both ways. When no credential can be produced the child gets a 502 naming the
// provider, and nothing is forwarded.

export interface RelayContext {
  routes: RouteTable;
  credentials: CredentialSource;
  pool: UpstreamPool;
  heads: HeadDeadlines;
}

/** What the connection is: decrypted traffic for one CONNECT target, or the proxy's own port. */
export interface ClientSide {
  /** Where a request goes and whether it may get a credential; throws MessageError, or answers it itself (undefined). */
  destination(head: RequestHead, client: Socket, reader: SocketReader): { dest: Destination; path: string; inject: boolean } | undefined;
}

/** Bodies up to this size are held so that a 401 can be retried after a refresh. */
const RETRY_BUFFER_LIMIT = 64 * 1024;
/** Form bodies are always held (OAuth 1.0a signs them), up to this size. */
const FORM_BUFFER_LIMIT = 8 * 1024 * 1024;
const NO_BODY = Buffer.alloc(0);

/** The connection was taken over (CONNECT, WebSocket): stop reading requests from it. */
const TAKEN_OVER = Symbol("taken over");

type Outcome = boolean | typeof TAKEN_OVER;

/** The client connection and the upstream connection its current request uses (closed with it). */
interface ClientConnection {
  socket: Socket;
  reader: SocketReader;
  upstream: Socket | undefined;
}

export async function serveConnection(socket: Socket, ctx: RelayContext, side: ClientSide): Promise<void> {
  const client: ClientConnection = { socket, reader: new SocketReader(socket), upstream: undefined };
  socket.on("error", () => socket.destroy());
  // a child that goes away mid-request takes the request's upstream connection with it
  socket.on("close", () => client.upstream?.destroy());
  for (let first = true; ; first = false) {
    let outcome: Outcome;
    try {
      let raw = client.reader.head(HEAD_LIMIT, 431);
      if (raw instanceof Promise) {
        // still to come: its time runs out (see HeadDeadlines)
        ctx.heads.watch(client.reader, socket, first);
        try {
          raw = await raw;
        } finally {
          ctx.heads.unwatch(client.reader);
        }
      }
      if (!raw) return void socket.end();
      const head = parseRequestHead(raw);
      const where = side.destination(head, socket, client.reader);
      if (!where) return;
      outcome = await exchange(ctx, client, head, where.dest, where.path, where.inject);
    } catch (err) {
      // only errors before any answer reach here; a refused request ends its connection
      if (err instanceof MessageError && !socket.destroyed) socket.end(jsonResponse(err.status, { error: errorName(err.status), message: err.message }, true));
      else socket.destroy();
      return;
    } finally {
      client.upstream = undefined;
    }
    if (outcome === TAKEN_OVER) return;
    if (!outcome) return void socket.end();
    // an answer that came whole was written at once: a child that pipelines and reads none of
    // its answers must take them before its next request is read
    if (isFull(socket)) await room(socket);
  }
}

function errorName(status: number): string {
  return status === 431 ? "headers_too_large" : status === 413 ? "body_too_large" : status === 400 ? "bad_request" : "proxy_error";
}

export function jsonResponse(status: number, body: Record<string, string>, close: boolean): Buffer {
  const reasons: Record<number, string> = { 400: "Bad Request", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 502: "Bad Gateway" };
  const fields: Fields = [["Content-Type", "application/json"], ["X-Authsome-Proxy", "1"]];
  if (close) fields.push(["Connection", "close"]);
  return localResponse(status, reasons[status] ?? "Error", fields, JSON.stringify(body));
}

function failureBody(ctx: RelayContext, match: RouteMatch, err: unknown): Record<string, string> {
  const login = ctx.credentials.loginFor(match);
  return {
    error: "authsome_no_credential",
    provider: match.provider,
    connection: match.connection,
    message: err instanceof InjectionError ? err.message : `no credential for "${match.provider}"`,
    hint: err instanceof InjectionError ? err.hint : `run \`${login}\``,
    login,
  };
}

/** Why no connection to the service could be made: its certificate (with a hint), the user's proxy or the network. */
export function unreachableBody(dest: Destination, err: unknown): Record<string, string> {
  if (err instanceof EgressError) return proxyFailure(dest, err);
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  const via = (err as ThroughProxy).egressProxy;
  const through = via ? ` through the proxy ${via.display}` : "";
  // OpenSSL's verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ...) and Node's name check
  if (/CERT|SIGNATURE|ISSUER|SELF_SIGNED/.test(code)) {
    return {
      error: "upstream_certificate_untrusted",
      message: `the certificate of ${dest.host} is not trusted (${code})${through}`,
      hint: `${via ? "a proxy that intercepts TLS needs its CA passed with --upstream-ca; " : ""}a local server standing in for it needs its CA passed with --upstream-ca, and a certificate for this name`,
    };
  }
  return { error: "upstream_unreachable", message: `${dest.host} could not be reached${through} (${code})` };
}

function proxyFailure(dest: Destination, err: EgressError): Record<string, string> {
  return { error: "upstream_proxy_failed", message: `${dest.host} could not be reached: ${err.message}`, hint: "check the proxy in authsome's environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY), or list the host in NO_PROXY to reach it directly" };
}

/** The request's fields as sent upstream: Host, its own end-to-end ones, the credential, and a held body's length. */
function upstreamFields(head: RequestHead, authority: string, injection: Injection | undefined, held: Buffer | undefined, upgrade: string | undefined): Fields {
  // the definition's extra headers yield to the child's own; the credential never does
  const added = injection?.extras.length ? injection.fields.filter(([, , lower]) => !(injection.extras.includes(lower) && !injection.replace.includes(lower) && has(head, lower))) : injection?.fields;
  const dropped = (name: string): boolean =>
    name === "host" ||
    name === "expect" ||
    (held !== undefined && (name === "transfer-encoding" || name === "content-length")) ||
    (injection !== undefined && (injection.replace.includes(name) || added!.some((f) => f[2] === name)));
  const out: Fields = [["Host", authority], ...endToEnd(head, dropped)];
  if (added) for (const [name, value] of added) out.push([name, value]);
  if (held && (held.length > 0 || has(head, "content-length"))) out.push(["Content-Length", String(held.length)]);
  if (upgrade) out.push(["Connection", "Upgrade"], ["Upgrade", upgrade]);
  return out;
}

async function exchange(ctx: RelayContext, client: ClientConnection, head: RequestHead, dest: Destination, path: string, mayInject: boolean): Promise<Outcome> {
  const { socket, reader } = client;
  const framing = requestFraming(head);
  // routes name https ports; plain http on its default port counts as the https default (loopback stand-ins)
  const match = mayInject ? ctx.routes.match(dest.host, !dest.tls && dest.port === 80 ? 443 : dest.port, path) : undefined;
  const upgrade = has(head, "upgrade") && fieldTokens(head, "connection").includes("upgrade") ? field(head, "upgrade") : undefined;
  const contentType = field(head, "content-type");
  const isForm = contentType !== undefined && /^application\/x-www-form-urlencoded\b/i.test(contentType);

  // the proxy answers 100-continue itself: a held body has to be read before anything goes upstream
  // (an HTTP/1.0 child gets no interim answers: its Expect is ignored, RFC 9110 10.1.1)
  const oldChild = head.version === "1.0";
  if (!oldChild && framing.kind !== "none" && fieldTokens(head, "expect").includes("100-continue")) socket.write("HTTP/1.1 100 Continue\r\n\r\n");
  let held: Buffer | undefined;
  if (framing.kind === "none") held = NO_BODY;
  else if (match && ((framing.kind === "length" && framing.length <= RETRY_BUFFER_LIMIT) || (isForm && match.authType === "oauth1"))) {
    held = await reader.collect(framing, FORM_BUFFER_LIMIT);
    if (!held) throw new MessageError(413, "form bodies signed with OAuth 1.0a are limited to 8 MiB");
  }
  const bodyRead = held !== undefined;
  // the proxy's own answers keep the connection only when the whole request was read and the child keeps it
  const keepAfterOwnAnswer = bodyRead && keepsAlive(head);

  let injection: Injection | undefined;
  let authRequest: RequestToAuthorize | undefined;
  if (match) {
    const url = `${dest.tls ? "https" : "http"}://${dest.authority}${path}`;
    authRequest = held && isForm ? { method: head.method, url, body: held, contentType: contentType! } : { method: head.method, url };
    try {
      injection = await ctx.credentials.inject(match, authRequest);
    } catch (err) {
      socket.write(jsonResponse(502, failureBody(ctx, match, err), !keepAfterOwnAnswer));
      return keepAfterOwnAnswer;
    }
  }

  let refreshed = false;
  for (;;) {
    let conn: UpstreamConnection;
    try {
      conn = await ctx.pool.acquire(dest);
    } catch (err) {
      socket.write(jsonResponse(502, unreachableBody(dest, err), !keepAfterOwnAnswer));
      return keepAfterOwnAnswer;
    }
    if (socket.destroyed) {
      ctx.pool.release(conn);
      return false;
    }
    const up = conn.socket;
    client.upstream = up;
    const fields = upstreamFields(head, dest.authority, injection, held, upgrade);
    // plain http through the user's proxy: the target in absolute form, and the proxy's own credential
    if (conn.forwardProxy?.authorization) fields.push(["Proxy-Authorization", conn.forwardProxy.authorization]);
    const requestHead = serializeRequest(head.method, conn.forwardProxy ? `http://${dest.authority}${path === "*" ? "" : path}` : path, fields);
    up.write(held && held.length > 0 ? Buffer.concat([requestHead, held]) : requestHead);
    let bodySent = bodyRead;
    if (!bodyRead) {
      Promise.resolve(reader.relay(framing, up)).then(
        (done) => (bodySent = done),
        () => void socket.destroy(), // a malformed chunked body: nothing sensible can follow
      );
    }
    let answered = false;
    try {
      // the response head; interim answers other than 100 (sent already) are passed on
      let raw: Buffer | undefined;
      let response: ResponseHead | undefined;
      for (;;) {
        raw = await conn.reader.head(HEAD_LIMIT, 502);
        if (!raw) break;
        response = parseResponseHead(raw);
        if (response.status >= 200 || response.status === 101) break;
        if (response.status !== 100 && !oldChild) socket.write(raw);
      }
      if (!raw || !response) {
        up.destroy();
        if (socket.destroyed) return false;
        // a kept-alive connection the service closed meanwhile: send again on a new one, unless
        // the service may have acted on it (RFC 9112 9.3.1: no automatic retry of a non-idempotent request)
        const replayable = replayableRequest(head);
        const closedUnread = conn.reused && conn.reader.received === 0;
        if (closedUnread && bodyRead && replayable) continue;
        const notAgain = closedUnread && !replayable ? `; it was not sent again, as ${head.method} is not idempotent` : "";
        const who = conn.forwardProxy ? `the proxy ${conn.forwardProxy.display} (on the way to ${dest.host})` : dest.host;
        socket.write(jsonResponse(502, { error: "upstream_closed", message: `${who} closed the connection without answering${notAgain}` }, true));
        return false;
      }
      if (conn.forwardProxy && response.status === 407) {
        // the user's proxy refusing its own credential: not the child's to answer (it would take it for authsome's proxy)
        up.destroy();
        socket.write(jsonResponse(502, proxyFailure(dest, new EgressError(conn.forwardProxy, proxyRefused(407, `the request for http://${dest.authority}/`))), true));
        return false;
      }

      const responseBody = responseFraming(head.method, response);
      if (response.status === 401 && refreshed && match && injection?.refreshable) ctx.credentials.notCured(match, injection.refreshable);
      if (response.status === 401 && !refreshed && held && match && authRequest && injection?.refreshable) {
        refreshed = true;
        let next: Injection | undefined;
        try {
          next = await ctx.credentials.retryAfter401(match, authRequest, injection.refreshable);
        } catch (err) {
          up.destroy();
          socket.write(jsonResponse(502, failureBody(ctx, match, err), !keepAfterOwnAnswer));
          return keepAfterOwnAnswer;
        }
        if (next) {
          // the 401 is dropped and the request sent again with the new token
          if (responseBody.kind !== "close" && (await conn.reader.relay(responseBody, undefined)) && keepsAlive(response)) ctx.pool.release(conn);
          else up.destroy();
          injection = next;
          continue;
        }
        // nothing new to try: the child gets the service's 401
      }

      if (response.status === 101) {
        if (!upgrade) throw new MessageError(502, "the service switched protocols unasked");
        socket.write(raw);
        client.upstream = undefined;
        join(socket, reader.detach(), up, conn.reader.detach());
        return TAKEN_OVER;
      }

      // a chunked answer reaches an HTTP/1.0 child decoded, ended by the connection's close (RFC 9112 6.1)
      const dechunk = oldChild && responseBody.kind === "chunked";
      const clientKeeps = keepsAlive(head) && responseBody.kind !== "close" && !upgrade && !dechunk;
      answered = true;
      const childHead = relayedResponseHead(raw, response, !clientKeeps, dechunk);
      const complete = await (dechunk ? relayDecoded(conn.reader, socket, childHead) : conn.reader.relay(responseBody, socket, childHead));
      if (!complete) {
        // the service broke off: the child must not take a short body for a whole one
        up.destroy();
        socket.destroy();
        return false;
      }
      // an answer that came before the whole body was sent ends both connections; so does one whose length was ambiguous
      if (bodySent && responseBody.kind !== "close" && keepsAlive(response) && !ambiguousLength(response)) ctx.pool.release(conn);
      else up.destroy();
      return clientKeeps && bodySent;
    } catch (err) {
      up.destroy();
      if (answered) {
        socket.destroy();
        return false;
      }
      if (err instanceof MessageError && !socket.destroyed) {
        socket.write(jsonResponse(502, { error: "upstream_error", message: err.message }, true));
        return false;
      }
      throw err;
    }
  }
}

/** Methods a request may be sent again with (RFC 9110 9.2.2), or one that says it may with an idempotency key. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

function replayableRequest(head: RequestHead): boolean {
  return IDEMPOTENT.has(head.method) || has(head, "idempotency-key") || has(head, "x-idempotency-key");
}

/** A chunked body handed to `socket` decoded (after `head`); true when it was whole. The connection closes after it. */
async function relayDecoded(reader: SocketReader, socket: Socket, head: Buffer): Promise<boolean> {
  socket.write(head);
  const chunked = new ChunkedBody();
  const decoder = new Transform({
    transform(piece: Buffer, _encoding, done) {
      try {
        chunked.feed(piece, (data) => this.push(data));
        done();
      } catch (err) {
        done(err as Error); // the relay's own reading of the same bytes has refused them already
      }
    },
  });
  decoder.on("error", () => socket.destroy());
  socket.once("close", () => decoder.destroy()); // a child gone midway: nothing waits on what it never read
  decoder.pipe(socket, { end: false });
  const complete = await reader.relay({ kind: "chunked" }, decoder);
  decoder.end();
  await finished(decoder, { readable: true, writable: false }).catch(() => {});
  return complete;
}

/** Two sockets joined both ways (a WebSocket, a blind tunnel), with what each had queued. */
export function join(a: Duplex, aQueued: Buffer, b: Duplex, bQueued: Buffer): void {
  if (bQueued.length > 0) a.write(bQueued);
  if (aQueued.length > 0) b.write(aQueued);
  a.pipe(b);
  b.pipe(a);
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
  a.on("error", () => a.destroy());
  b.on("error", () => b.destroy());
}
