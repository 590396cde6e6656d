// HTTP/1.1 message heads and body framing (RFC 9112), as much as a relay needs: parse a head,
// decide where its body ends, write a head back out. Bodies themselves are never parsed, only
// delimited, so what the child and the service send passes through byte for byte.

export type Fields = Array<[name: string, value: string]>;

export interface MessageHead {
  /** "1.0" or "1.1". */
  version: string;
  /** As received: names in their own case, in order. */
  fields: Fields;
  /** The lowercase name of each field, in the same order (heads hold a few fields: a scan beats a map). */
  names: string[];
}

export interface RequestHead extends MessageHead {
  method: string;
  target: string;
}

export interface ResponseHead extends MessageHead {
  status: number;
}

/** Where a body ends: no body, after N bytes, after the last chunk, or when the connection closes. */
export type Framing = { kind: "none" } | { kind: "length"; length: number } | { kind: "chunked" } | { kind: "close" };

/** A message that cannot be relayed; `status` is what the child is answered (400, 431, 502...). */
export class MessageError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The most a message head may take (fields and start line). */
export const HEAD_LIMIT = 64 * 1024;

const DIGITS = /^\d{1,15}$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// a target of visible characters (and raw UTF-8 bytes, as some clients send), without a fragment
const REQUEST_LINE = /([!#$%&'*+.^_`|~0-9A-Za-z-]+) ([!-"$-~\x80-\xff]+) HTTP\/(1\.[01])\r\n/y;
const STATUS_LINE = /HTTP\/(1\.[01]) (\d{3})(?: [^\r\n]*)?\r\n/y;
// eslint-disable-next-line no-control-regex
const BREAKS = /[\r\n\0]/;

/** A field section that needs no closer look: token names, values without CR, LF or NUL, no folded lines. */
// eslint-disable-next-line no-control-regex
const WELL_FORMED_FIELDS = /(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\0]*\r\n)*\r\n$/y;

/** One trailer field line (without its CRLF), held to the same rules as a head's. */
// eslint-disable-next-line no-control-regex
const FIELD_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\0]*$/;

/** `text` from `start` to `end` without the optional whitespace around it (SP and HTAB only: other characters are not OWS). */
function owsSlice(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  return text.slice(start, end);
}

/** Why a field section is not well formed (found line by line, only for a refused head). */
function fieldError(text: string, from: number, status: number): MessageError {
  for (let pos = from; ; ) {
    const eol = text.indexOf("\r\n", pos);
    if (eol <= pos) return new MessageError(status, "malformed header section");
    const line = text.slice(pos, eol);
    if (line[0] === " " || line[0] === "\t") return new MessageError(status, "folded header lines are not accepted");
    const colon = line.indexOf(":");
    if (colon <= 0 || !TOKEN.test(line.slice(0, colon))) return new MessageError(status, "malformed header line");
    if (BREAKS.test(line)) return new MessageError(status, "header values must not contain line breaks");
    pos = eol + 2;
  }
}

/** The header fields after the start line (`text` ends with the blank line); a line break or NUL inside a value is refused. */
function parseFields(text: string, from: number, status: number): Pick<MessageHead, "fields" | "names"> {
  WELL_FORMED_FIELDS.lastIndex = from;
  if (!WELL_FORMED_FIELDS.test(text)) throw fieldError(text, from, status);
  const fields: Fields = [];
  const names: string[] = [];
  for (let pos = from; ; ) {
    const eol = text.indexOf("\r\n", pos);
    if (eol === pos) break; // the blank line
    const colon = text.indexOf(":", pos);
    const name = text.slice(pos, colon);
    fields.push([name, owsSlice(text, colon + 1, eol)]);
    names.push(name.toLowerCase());
    pos = eol + 2;
  }
  return { fields, names };
}

/** A head's start line matched against `pattern` (sticky, up to its CRLF); `status` answers a malformed one. */
function startLine(text: string, pattern: RegExp, status: number, malformed: string): RegExpExecArray {
  pattern.lastIndex = 0;
  const line = pattern.exec(text);
  if (!line) throw new MessageError(status, malformed);
  return line;
}

/** `head` runs up to and including the blank line. */
export function parseRequestHead(head: Buffer): RequestHead {
  const text = head.toString("latin1");
  const line = startLine(text, REQUEST_LINE, 400, "malformed request line");
  const { fields, names } = parseFields(text, line[0].length, 400);
  const request: RequestHead = { method: line[1]!, target: line[2]!, version: line[3]!, fields, names };
  if (request.version === "1.1" && count(request, "host") !== 1) throw new MessageError(400, "an HTTP/1.1 request needs exactly one Host field");
  return request;
}

export function parseResponseHead(head: Buffer): ResponseHead {
  const text = head.toString("latin1");
  const line = startLine(text, STATUS_LINE, 502, "the service sent a malformed status line");
  const { fields, names } = parseFields(text, line[0].length, 502);
  return { version: line[1]!, status: Number(line[2]), fields, names };
}

/** Whether the head has a field of this (lowercase) name. */
export function has(head: MessageHead, lowerName: string): boolean {
  return head.names.includes(lowerName);
}

function count(head: MessageHead, lowerName: string): number {
  let n = 0;
  for (const name of head.names) if (name === lowerName) n++;
  return n;
}

/** The values of a field, in order; undefined when there is none. */
function values(head: MessageHead, lowerName: string): string[] | undefined {
  let out: string[] | undefined;
  const names = head.names;
  for (let i = 0; i < names.length; i++) if (names[i] === lowerName) (out ??= []).push(head.fields[i]![1]);
  return out;
}

const NONE: string[] = [];

const owsTrim = (text: string): string => owsSlice(text, 0, text.length);

export function field(head: MessageHead, lowerName: string): string | undefined {
  return values(head, lowerName)?.join(", ");
}

/** The comma-separated tokens of a field, lowercased (Connection, Transfer-Encoding). */
export function fieldTokens(head: MessageHead, lowerName: string): string[] {
  const given = values(head, lowerName);
  if (!given) return NONE;
  // most often one value with one token ("keep-alive", "chunked")
  if (given.length === 1 && !given[0]!.includes(",")) {
    const t = given[0]!.toLowerCase(); // field values come without surrounding OWS
    return t === "" ? NONE : [t];
  }
  const out: string[] = [];
  for (const value of given) {
    for (const token of value.split(",")) {
      const t = owsTrim(token).toLowerCase();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

function contentLength(head: MessageHead, status: number): number | undefined {
  const given = values(head, "content-length");
  if (!given) return undefined;
  if (given.length === 1 && DIGITS.test(given[0]!)) return Number(given[0]);
  const lengths = given.flatMap((v) => v.split(",").map(owsTrim));
  if (!lengths.every((v) => DIGITS.test(v) && v === lengths[0])) throw new MessageError(status, "conflicting or malformed Content-Length");
  return Number(lengths[0]);
}

/** A request's body framing; Transfer-Encoding with Content-Length is refused (request smuggling). */
export function requestFraming(head: RequestHead): Framing {
  if (has(head, "transfer-encoding")) {
    const codings = fieldTokens(head, "transfer-encoding");
    if (has(head, "content-length")) throw new MessageError(400, "Transfer-Encoding and Content-Length together are not accepted");
    if (head.version === "1.0" || codings.length === 0 || codings[codings.length - 1] !== "chunked") throw new MessageError(400, "a request body's transfer coding must end in chunked");
    return { kind: "chunked" };
  }
  const length = contentLength(head, 400);
  return length ? { kind: "length", length } : { kind: "none" };
}

export function responseFraming(requestMethod: string, head: ResponseHead): Framing {
  if (requestMethod === "HEAD" || (head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return { kind: "none" };
  if (has(head, "transfer-encoding")) return fieldTokens(head, "transfer-encoding").at(-1) === "chunked" ? { kind: "chunked" } : { kind: "close" };
  const length = contentLength(head, 502);
  return length === undefined ? { kind: "close" } : length === 0 ? { kind: "none" } : { kind: "length", length };
}

/** Whether the sender of this head keeps its connection open afterwards. */
export function keepsAlive(head: MessageHead): boolean {
  const tokens = fieldTokens(head, "connection");
  return head.version === "1.1" ? !tokens.includes("close") : tokens.includes("keep-alive");
}

/** Fields that belong to one connection (RFC 9110 7.6.1), plus those the Connection field names. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"]);

const isFraming = (name: string): boolean => name === "content-length" || name === "transfer-encoding";

/**
 * The fields the Connection field names (they belong to that connection), except the framing
 * fields: the proxy relays the message by them, so the next hop must read the same framing
 * (dropping them would let a body be read as a request of its own).
 */
function namedByConnection(head: MessageHead): string[] {
  const named = fieldTokens(head, "connection");
  return named.some(isFraming) ? named.filter((name) => !isFraming(name)) : named;
}

/** The fields without the hop-by-hop ones and without those `alsoDrop` names (lowercase). */
export function endToEnd(head: MessageHead, alsoDrop: (lowerName: string) => boolean): Fields {
  const named = namedByConnection(head);
  const out: Fields = [];
  for (let i = 0; i < head.names.length; i++) {
    const name = head.names[i]!;
    if (!HOP_BY_HOP.has(name) && !named.includes(name) && !alsoDrop(name)) out.push(head.fields[i]!);
  }
  return out;
}

export function serializeRequest(method: string, target: string, fields: Fields): Buffer {
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
  return Buffer.from(text + "\r\n", "latin1");
}

/** Content-Length given beside Transfer-Encoding, or more than once: RFC 9112 6.3 has an intermediary remove or settle it before forwarding. */
export function ambiguousLength(head: ResponseHead): boolean {
  const lengths = values(head, "content-length");
  return lengths !== undefined && (has(head, "transfer-encoding") || lengths.length > 1 || lengths[0]!.includes(","));
}

/**
 * The response head for the child: byte for byte as the service sent it, except that
 * - when the child's connection is to close after it, the service's connection-level fields give way to "Connection: close";
 * - an ambiguous Content-Length is settled: dropped beside Transfer-Encoding, else given once;
 * - when the body is handed on decoded (`dechunk`: a chunked answer to an HTTP/1.0 child), Transfer-Encoding goes and the connection closes after it.
 */
export function relayedResponseHead(raw: Buffer, head: ResponseHead, closeAfter: boolean, dechunk = false): Buffer {
  const ambiguous = ambiguousLength(head);
  if (!closeAfter && !dechunk && !ambiguous) return raw;
  const close = closeAfter || dechunk;
  const connectionLevel = new Set(close ? ["connection", "keep-alive", "proxy-connection", ...namedByConnection(head)] : []);
  const dropLength = dechunk || has(head, "transfer-encoding");
  let lengthGiven = false;
  let text = `${raw.toString("latin1", 0, raw.indexOf("\r\n"))}\r\n`;
  head.fields.forEach(([name, value], i) => {
    const lower = head.names[i]!;
    if (connectionLevel.has(lower) || (dechunk && lower === "transfer-encoding")) return;
    if (lower === "content-length") {
      if (dropLength || lengthGiven) return;
      lengthGiven = true;
      // values already checked to agree (responseFraming)
      if (ambiguous) value = owsTrim(value.split(",")[0]!);
    }
    text += `${name}: ${value}\r\n`;
  });
  return Buffer.from(`${text}${close ? "Connection: close\r\n" : ""}\r\n`, "latin1");
}

/** A response the proxy makes itself. */
export function localResponse(status: number, reason: string, fields: Fields, body: Buffer | string = ""): Buffer {
  const payload = typeof body === "string" ? Buffer.from(body) : body;
  let text = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of fields) text += `${name}: ${value}\r\n`;
  text += `Content-Length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(text, "latin1"), payload]);
}

/**
 * Finds where a chunked body ends, fed its bytes in order. `feed` returns how many bytes of the
 * chunk belong to the body (all of them until the last chunk and its trailers are complete) and
 * hands the decoded payload to `onData` when given.
 */
export class ChunkedBody {
  private state: "size" | "data" | "data-crlf" | "trailers" | "done" = "size";
  private line = "";
  private left = 0;

  get done(): boolean {
    return this.state === "done";
  }

  feed(chunk: Buffer, onData?: (data: Buffer) => void): number {
    let i = 0;
    while (i < chunk.length && this.state !== "done") {
      if (this.state === "data") {
        const n = Math.min(this.left, chunk.length - i);
        onData?.(chunk.subarray(i, i + n));
        i += n;
        this.left -= n;
        if (this.left === 0) this.state = "data-crlf";
        continue;
      }
      const lf = chunk.indexOf(10, i);
      const end = lf < 0 ? chunk.length : lf + 1;
      this.line += chunk.toString("latin1", i, end);
      i = end;
      if (this.line.length > 4096) throw new MessageError(400, "chunk line too long");
      if (lf < 0) break;
      const line = this.line.endsWith("\r\n") ? this.line.slice(0, -2) : undefined;
      this.line = "";
      if (line === undefined) throw new MessageError(400, "malformed chunked body");
      if (this.state === "data-crlf") {
        if (line !== "") throw new MessageError(400, "malformed chunked body");
        this.state = "size";
      } else if (this.state === "size") {
        // extensions are passed on: visible characters and whitespace only
        const m = /^([0-9a-fA-F]{1,12})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/.exec(line);
        if (!m) throw new MessageError(400, "malformed chunk size");
        this.left = parseInt(m[1]!, 16);
        this.state = this.left === 0 ? "trailers" : "data";
      } else if (line === "") {
        this.state = "done";
      } else if (!FIELD_LINE.test(line)) {
        throw new MessageError(400, "malformed trailer field");
      }
    }
    return i;
  }
}
