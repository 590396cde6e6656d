// HTTP/1.1 on the wire between the child and the proxy: a Python child opens the CONNECT tunnel
// to api.openai.com itself, does TLS with the run CA and writes raw request bytes, so that the
// framing is exactly what the test says (keep-alive, pipelining, chunked and sized bodies,
// Expect: 100-continue, HEAD, bodiless statuses, close-delimited answers, smuggling attempts,
// malformed requests, an upstream that drops idle connections, raw response headers). Each test
// checks what reached the peer (the credential, the body's length and sha256) and what the child
// read back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { SYSTEM_PYTHON } from "../helpers.js";
import { proxyFixture, SECRETS, seen, type ProxyFixture } from "./fixtures.js";

let fx: ProxyFixture;
before(async () => {
  fx = await proxyFixture();
});
after(async () => {
  await fx.peer.close();
});

const BEARER = `Bearer ${SECRETS.openai}`;

// The child's side: a tunnel, TLS with the run CA, raw writes, and a strict HTTP/1.1 response
// reader that reports how each answer was framed.
const PRELUDE = String.raw`
import base64, hashlib, json, os, socket, ssl, sys, time, urllib.parse
PROXY = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
AUTH = base64.b64encode(f"{urllib.parse.unquote(PROXY.username)}:{urllib.parse.unquote(PROXY.password)}".encode()).decode()
CTX = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
KEY = os.environ["OPENAI_API_KEY"]

def request(method, path, headers=(), body=b"", host="api.openai.com", auth="Authorization"):
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n" + (f"{auth}: Bearer {KEY}\r\n" if auth else "")
    for line in headers:
        head += line + "\r\n"
    return head.encode("latin-1") + b"\r\n" + body

class Conn:
    def __init__(self, host="api.openai.com"):
        raw = socket.create_connection((PROXY.hostname, PROXY.port), timeout=5)
        raw.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\nProxy-Authorization: Basic {AUTH}\r\n\r\n".encode())
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            b = raw.recv(1)
            if not b:
                raise SystemExit("the proxy closed the connection during CONNECT")
            head += b
        assert head.startswith(b"HTTP/1.1 200"), head
        self.sock = CTX.wrap_socket(raw, server_hostname=host)
        self.buf = b""
        self.eof = False

    def send(self, data):
        self.sock.sendall(data)

    def fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def until(self, marker):
        while marker not in self.buf:
            if not self.fill():
                raise EOFError(f"the connection ended while waiting for {marker!r}; unread: {self.buf[:300]!r}")
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exact(self, n):
        while len(self.buf) < n:
            if not self.fill():
                raise EOFError(f"the connection ended after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def head(self):
        lines = self.until(b"\r\n\r\n")[:-4].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        assert parts[0] == "HTTP/1.1" and len(parts) >= 2 and parts[1].isdigit(), f"not a status line: {lines[0]!r}"
        headers = []
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers.append([name, value.strip(" \t")])
        return {"status": int(parts[1]), "reason": parts[2] if len(parts) > 2 else "", "headers": headers}

    def response(self, method="GET"):
        interim = []
        while True:
            r = self.head()
            if 100 <= r["status"] < 200:
                interim.append(r["status"])
                continue
            break
        get = lambda name: [v for n, v in r["headers"] if n.lower() == name]
        te, cl = get("transfer-encoding"), get("content-length")
        chunks = 0
        if method == "HEAD" or r["status"] in (204, 304):
            framing, body = "none", b""
        elif te:
            assert te[-1].lower().split(",")[-1].strip() == "chunked", f"transfer-encoding {te}"
            framing, parts = "chunked", []
            while True:
                size = int(self.until(b"\r\n")[:-2].split(b";")[0], 16)
                if size == 0:
                    while self.until(b"\r\n") != b"\r\n":
                        pass
                    break
                parts.append(self.exact(size))
                assert self.exact(2) == b"\r\n", "chunk not followed by CRLF"
                chunks += 1
            body = b"".join(parts)
        elif cl:
            assert len(set(cl)) == 1, f"content-length {cl}"
            framing, body = "content-length", self.exact(int(cl[0]))
        else:
            framing = "close"
            while self.fill():
                pass
            body, self.buf = self.buf, b""
        r.update(interim=interim, framing=framing, chunks=chunks, length=len(body), sha256=hashlib.sha256(body).hexdigest(), text=body[:300].decode("latin-1"))
        return r

    def quiet(self, wait=0.3):
        """What arrives in the next moments: stray bytes, or the connection's end."""
        self.sock.settimeout(wait)
        try:
            while self.fill():
                pass
        except (TimeoutError, socket.timeout):
            pass
        finally:
            self.sock.settimeout(5)
        return {"stray": len(self.buf), "ended": self.eof}

def digest(data):
    return {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}

def out(value):
    print(json.dumps(value))

def each_alone(cases):
    """Each request on a connection of its own: the answer (or why there was none) and whether the connection then ended.
    A case given as a list is sent in those parts, a moment apart."""
    results = []
    for name, data in cases.items():
        c = Conn()
        c.sock.settimeout(2)
        for i, part in enumerate(data if isinstance(data, list) else [data]):
            if i:
                time.sleep(0.2)
            c.send(part)
        try:
            answer = c.response()
        except (EOFError, AssertionError, ValueError) as e:
            answer = f"{type(e).__name__}: {e}"
        except (TimeoutError, socket.timeout):
            answer = "no answer within 2 s"
        results.append({"name": name, "answer": answer, "ended": c.quiet(1.0)["ended"]})
    return results
`;

interface AloneResult {
  name: string;
  answer: Answer | string;
  ended: boolean;
}

/** Each case got the proxy's own `status` followed by the end of its connection, and no request under `pathPrefix` reached the service. */
function assertRefused(results: AloneResult[], pathPrefix: string, what: string, status = 400): void {
  const byProxy = (a: Answer) => a.status === status && header(a, "x-authsome-proxy").length === 1;
  const notRefused = results
    .filter((r) => typeof r.answer !== "object" || !byProxy(r.answer) || !r.ended)
    .map((r) => `${r.name}: ${typeof r.answer === "object" ? `${r.answer.status} ${r.answer.reason}${r.ended ? "" : ", connection left open"}` : r.answer}`);
  assert.deepEqual(notRefused, [], `each ${what} request gets the proxy's ${status} and the connection is closed`);
  const reached = fx.peer.requests.filter((q) => q.path.startsWith(pathPrefix)).map((q) => q.path);
  assert.deepEqual(reached, [], `no ${what} request reached the service`);
}

interface Answer {
  status: number;
  reason: string;
  headers: [string, string][];
  interim: number[];
  framing: "none" | "chunked" | "content-length" | "close";
  chunks: number;
  length: number;
  sha256: string;
  text: string;
}

/** Runs the Python child (PRELUDE + code) inside `authsome run`; returns what it printed as JSON. */
async function child<T = Record<string, unknown>>(code: string, on: ProxyFixture = fx): Promise<T> {
  const r = await on.run([SYSTEM_PYTHON, "-c", PRELUDE + code]);
  assert.equal(r.code, 0, `the child failed:\n${r.stderr}`);
  if (process.env.WIRE_DEBUG) console.error(r.stdout); // WIRE_DEBUG=1: print what the child read
  return JSON.parse(r.stdout) as T;
}

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
const header = (a: Answer, name: string) => a.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);

function assertJsonAnswer(a: Answer, path: string): void {
  assert.equal(a.status, 200, JSON.stringify(a));
  assert.deepEqual(JSON.parse(a.text), { ok: true, host: "api.openai.com", path });
  assert.equal(a.length, Number(header(a, "content-length")[0]));
}

function assertArrived(path: string, body?: { length: number; sha256: string }) {
  return assertArrivedAt(fx, path, body);
}

function assertArrivedAt(on: ProxyFixture, path: string, body?: { length: number; sha256: string }) {
  const q = seen(on.peer, path);
  const field = (name: string) => q.rawHeaders.filter((_, i) => i % 2 === 0 && q.rawHeaders[i]!.toLowerCase() === name).length;
  assert.equal(q.headers.authorization, BEARER, `${path}: the credential was injected`);
  assert.equal(field("authorization"), 1, `${path}: exactly one Authorization field (the placeholder is replaced, not kept)`);
  assert.equal(q.host, "api.openai.com");
  assert.equal(field("host"), 1, `${path}: exactly one Host field`);
  if (body) {
    assert.equal(q.bodyBytes, body.length, `${path}: body length`);
    assert.equal(q.bodySha256, body.sha256, `${path}: body sha256`);
  }
  return q;
}

test("five requests on one kept-alive connection all get the credential and complete answers", async () => {
  // the child spells its placeholder header in several ways, or leaves it out
  const out = await child<{ answers: Answer[]; after: { stray: number; ended: boolean } }>(String.raw`
c = Conn()
answers = []
for i, auth in enumerate(["Authorization", "authorization", "AUTHORIZATION", None, "aUtHoRiZaTiOn"]):
    path = f"/v1/wire/keepalive-{i}" if i % 2 == 0 else f"/bytes?n={i * 40000 + 1}&k={i}"
    c.send(request("GET", path, auth=auth))
    answers.append(c.response())
out({"answers": answers, "after": c.quiet()})
`);
  assert.equal(out.answers.length, 5);
  for (const i of [0, 2, 4]) {
    assertJsonAnswer(out.answers[i]!, `/v1/wire/keepalive-${i}`);
    assertArrived(`/v1/wire/keepalive-${i}`);
  }
  for (const i of [1, 3]) {
    const n = i * 40000 + 1;
    assert.equal(out.answers[i]!.status, 200);
    assert.equal(out.answers[i]!.length, n);
    assert.equal(out.answers[i]!.sha256, sha256(Buffer.alloc(n, 97)));
    assertArrived(`/bytes?n=${n}&k=${i}`);
  }
  assert.deepEqual(out.after, { stray: 0, ended: false }, "nothing after the last answer, and the connection stays open");
});

test("pipelined requests written in one write are answered in order, each with the credential", async () => {
  // the first answer is the slowest (a chunked stream), the second request carries a body
  const out = await child<{ answers: Answer[]; body: { length: number; sha256: string } }>(String.raw`
body = os.urandom(3000)
c = Conn()
c.send(
    request("GET", "/chunked?n=3&k=pipe")
    + request("POST", "/v1/wire/pipe-post", ["Content-Type: application/octet-stream", f"Content-Length: {len(body)}"], body)
    + request("GET", "/v1/wire/pipe-last")
)
out({"answers": [c.response(), c.response(), c.response()], "body": digest(body)})
`);
  const [first, second, third] = out.answers;
  assert.equal(first!.status, 200);
  assert.equal(first!.text, "chunk 0\nchunk 1\nchunk 2\n");
  assertJsonAnswer(second!, "/v1/wire/pipe-post");
  assertJsonAnswer(third!, "/v1/wire/pipe-last");
  assertArrived("/chunked?n=3&k=pipe");
  assertArrived("/v1/wire/pipe-post", out.body);
  assertArrived("/v1/wire/pipe-last");
});

test("a child that pipelines requests and reads none of the answers holds the proxy back (it does not buffer every answer), then gets them all in order", async () => {
  // each answer is small enough to reach the proxy in one piece, whole, which is the case that
  // must still wait for the child to take what is already pending
  const n = 1000;
  const size = 12_000;
  const out = await child<{ stalledAt: number; answers: { status: number; length: number; sha256: string }[] }>(String.raw`
N, SIZE = ${n}, ${size}
c = Conn()
c.send(b"".join(request("GET", f"/bytes?n={SIZE}&k=held{i}") for i in range(N)))
probe = Conn()
counts = []
while len(counts) < 2 or counts[-1] != counts[-2]:
    time.sleep(0.5)
    probe.send(request("GET", "/seen-count?prefix=" + urllib.parse.quote(f"/bytes?n={SIZE}&k=held")))
    counts.append(json.loads(probe.response()["text"])["count"])
    assert len(counts) < 40, counts
answers = []
for i in range(N):
    a = c.response()
    answers.append({"status": a["status"], "length": a["length"], "sha256": a["sha256"]})
out({"stalledAt": counts[-1], "answers": answers})
`);
  // the proxy may hold its 256 KiB window and what the loopback socket buffers take (a few MiB), not all 12 MB
  assert.ok(out.stalledAt < n * 0.7, `requests that reached the service while the child read nothing: ${out.stalledAt} of ${n}`);
  assert.equal(out.answers.length, n);
  const expected = sha256(Buffer.alloc(size, 97));
  const wrong = out.answers.map((a, i) => ({ i, ...a })).filter((a) => a.status !== 200 || a.length !== size || a.sha256 !== expected);
  assert.deepEqual(wrong, [], "every answer complete");
  assertArrived(`/bytes?n=${size}&k=held${n - 1}`);
});

test("a chunked request body over 64 KiB, sent in several chunks, arrives intact with the credential", async () => {
  const out = await child<{ answer: Answer; next: Answer; body: { length: number; sha256: string } }>(String.raw`
body = os.urandom(200_000)
c = Conn()
c.send(request("POST", "/v1/wire/chunked-upload", ["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"]))
offset = 0
for i, size in enumerate([1, 65536, 70000, 4463, len(body) - 140000]):
    piece = body[offset:offset + size]
    offset += size
    ext = ";name=value" if i == 2 else ""
    c.send(f"{len(piece):x}{ext}\r\n".encode() + piece + b"\r\n")
    time.sleep(0.01)
assert offset == len(body)
c.send(b"0\r\n\r\n")
answer = c.response()
c.send(request("GET", "/v1/wire/after-chunked-upload"))
out({"answer": answer, "next": c.response(), "body": digest(body)})
`);
  assertJsonAnswer(out.answer, "/v1/wire/chunked-upload");
  assertArrived("/v1/wire/chunked-upload", out.body);
  assertJsonAnswer(out.next, "/v1/wire/after-chunked-upload");
  assertArrived("/v1/wire/after-chunked-upload");
});

test("a chunked request body that turns malformed midway ends the connection, and the service never gets a whole request", async () => {
  // the first chunk goes through while it streams; the bad size line comes after a pause
  const out = await child<{ quiet: { stray: number; ended: boolean } }>(String.raw`
c = Conn()
c.send(request("POST", "/v1/wire/bad-chunk", ["Content-Type: application/octet-stream", "Transfer-Encoding: chunked"]))
c.send(b"100000\r\n" + b"x" * 0x100000 + b"\r\n")
time.sleep(0.3)
c.send(b"zz\r\n" + b"y" * 100 + b"\r\n0\r\n\r\n")
out({"quiet": c.quiet(2.0)})
`);
  assert.deepEqual(out.quiet, { stray: 0, ended: true }, "no answer, and the connection ended");
  assert.ok(!fx.peer.requests.some((q) => q.path === "/v1/wire/bad-chunk"), "the service received a complete request");
});

test("a 1 MiB Content-Length upload arrives intact with the credential", async () => {
  const out = await child<{ answer: Answer; next: Answer; body: { length: number; sha256: string } }>(String.raw`
body = os.urandom(1024 * 1024 + 123)
c = Conn()
c.send(request("PUT", "/v1/wire/upload", ["Content-Type: application/octet-stream", f"Content-Length: {len(body)}"]))
for i in range(0, len(body), 100_000):
    c.send(body[i:i + 100_000])
answer = c.response()
c.send(request("GET", "/v1/wire/after-upload"))
out({"answer": answer, "next": c.response(), "body": digest(body)})
`);
  assertJsonAnswer(out.answer, "/v1/wire/upload");
  const q = assertArrived("/v1/wire/upload", out.body);
  assert.equal(q.method, "PUT");
  assertJsonAnswer(out.next, "/v1/wire/after-upload");
});

test("Expect: 100-continue: the child may send its body (after 100 or a short wait, as curl does) and it arrives intact", async () => {
  // small (held for a 401 retry) and large (streamed) bodies, one after the other on one connection
  const out = await child<{ runs: { got100: boolean; early: boolean; answer: Answer; body: { length: number; sha256: string } }[] }>(String.raw`
c = Conn()
runs = []
for size, path in [(5000, "/v1/wire/expect-small"), (150_000, "/v1/wire/expect-large")]:
    body = os.urandom(size)
    c.send(request("POST", path, ["Content-Type: application/octet-stream", f"Content-Length: {size}", "Expect: 100-continue"]))
    got100, early = False, False
    c.sock.settimeout(1.0)
    try:
        r = c.head()
        if r["status"] == 100:
            got100 = True
        else:
            early = True
    except (TimeoutError, socket.timeout):
        pass
    c.sock.settimeout(5)
    if early:
        runs.append({"got100": got100, "early": True, "answer": r, "body": digest(body)})
        break
    c.send(body)
    runs.append({"got100": got100, "early": False, "answer": c.response(), "body": digest(body)})
out({"runs": runs})
`);
  assert.equal(out.runs.length, 2, JSON.stringify(out.runs));
  for (const [i, path] of ["/v1/wire/expect-small", "/v1/wire/expect-large"].entries()) {
    const run = out.runs[i]!;
    assert.equal(run.early, false, `${path}: no final answer before the body was sent (${JSON.stringify(run.answer)})`);
    assertJsonAnswer(run.answer, path);
    for (const s of run.answer.interim) assert.equal(s, 100, "only 100 Continue before the answer");
    assertArrived(path, run.body);
  }
});

test("HEAD gets Content-Length 5000 and no body; the connection then serves a GET", async () => {
  const out = await child<{ head: Answer; next: Answer; after: { stray: number; ended: boolean } }>(String.raw`
c = Conn()
c.send(request("HEAD", "/bytes?n=5000&k=head"))
head = c.response("HEAD")
c.send(request("GET", "/v1/wire/after-head"))
out({"head": head, "next": c.response(), "after": c.quiet()})
`);
  assert.equal(out.head.status, 200);
  assert.deepEqual(header(out.head, "content-length"), ["5000"]);
  assert.equal(out.head.length, 0);
  assert.equal(assertArrived("/bytes?n=5000&k=head").method, "HEAD");
  // a body after the HEAD answer would be read here as the GET's status line
  assertJsonAnswer(out.next, "/v1/wire/after-head");
  assertArrived("/v1/wire/after-head");
  assert.deepEqual(out.after, { stray: 0, ended: false });
});

test("a chunked answer arrives whole, and the connection then serves the next request", async () => {
  const out = await child<{ first: Answer; next: Answer }>(String.raw`
c = Conn()
c.send(request("GET", "/chunked?n=40&k=relay"))
first = c.response()
c.send(request("GET", "/v1/wire/after-chunked"))
out({"first": first, "next": c.response()})
`);
  assert.equal(out.first.status, 200);
  const expected = Array.from({ length: 40 }, (_, i) => `chunk ${i}\n`).join("");
  assert.equal(out.first.length, expected.length);
  assert.equal(out.first.sha256, sha256(expected));
  assert.equal(out.first.framing, "chunked", "an answer of unknown length stays chunked (or the connection could not be reused)");
  assertArrived("/chunked?n=40&k=relay");
  assertJsonAnswer(out.next, "/v1/wire/after-chunked");
});

test("an answer delimited by the connection's close arrives whole, then the connection ends (or it was re-framed and stays usable)", async () => {
  const out = await child<{ answer: Answer; ended: boolean; next?: Answer }>(String.raw`
c = Conn()
c.send(request("GET", "/close-delimited?n=100000"))
answer = c.response()
result = {"answer": answer, "ended": c.eof}
if answer["framing"] != "close":
    c.send(request("GET", "/v1/wire/after-close-delimited"))
    result["next"] = c.response()
out(result)
`);
  assert.equal(out.answer.status, 200);
  assert.deepEqual(header(out.answer, "x-framing"), ["close"]);
  assert.equal(out.answer.length, 100_000, `the whole body (framing: ${out.answer.framing})`);
  assert.equal(out.answer.sha256, sha256(Buffer.alloc(100_000, 98)));
  assertArrived("/close-delimited?n=100000");
  if (out.answer.framing === "close") {
    assert.equal(out.ended, true, "the body ends with the connection");
  } else {
    // the proxy gave it a length of its own (chunked): then the connection must go on
    assert.equal(out.answer.framing, "chunked");
    assertJsonAnswer(out.next!, "/v1/wire/after-close-delimited");
  }
});

test("204 and 304 answers carry no body (even a 304 with a Content-Length) and the connection stays usable", async () => {
  const out = await child<{ answers: Answer[]; after: { stray: number; ended: boolean } }>(String.raw`
c = Conn()
answers = []
for path, extra in [("/status?code=204", []), ("/status?code=304&cl=42", ['If-None-Match: "v1"']), ("/status?code=304", ['If-None-Match: "v1"']), ("/v1/wire/after-bodiless", [])]:
    c.send(request("GET", path, extra))
    answers.append(c.response())
out({"answers": answers, "after": c.quiet()})
`);
  const [noContent, notModifiedCl, notModified, next] = out.answers;
  assert.equal(noContent!.status, 204);
  assert.deepEqual(header(noContent!, "x-status"), ["204"]);
  assert.equal(notModifiedCl!.status, 304);
  assert.deepEqual(header(notModifiedCl!, "etag"), ['"v1"']);
  assert.equal(notModified!.status, 304);
  // a body after any of them would have been read as the next status line
  assertJsonAnswer(next!, "/v1/wire/after-bodiless");
  assert.deepEqual(out.after, { stray: 0, ended: false });
  for (const path of ["/status?code=204", "/status?code=304&cl=42", "/status?code=304", "/v1/wire/after-bodiless"]) assertArrived(path);
});

test("request smuggling: Transfer-Encoding with Content-Length (or other ambiguous framing) is refused with 400, nothing reaches the service", async () => {
  const smuggled = "GET /v1/wire/smuggled HTTP/1.1\\r\\nHost: api.openai.com\\r\\n\\r\\n";
  const out = await child<AloneResult[]>(String.raw`
smuggled = b"${smuggled}"
cases = {
    "te-then-cl": request("POST", "/v1/wire/smuggle-1", ["Transfer-Encoding: chunked", f"Content-Length: {5 + len(smuggled)}"], b"0\r\n\r\n" + smuggled),
    "cl-then-te": request("POST", "/v1/wire/smuggle-2", ["Content-Length: 4", "Transfer-Encoding: chunked"], b"0\r\n\r\n" + smuggled),
    "two-lengths": request("POST", "/v1/wire/smuggle-3", ["Content-Length: 0", f"Content-Length: {len(smuggled)}"], smuggled),
    "chunked-not-last": request("POST", "/v1/wire/smuggle-4", ["Transfer-Encoding: chunked, identity"], b"0\r\n\r\n" + smuggled),
}
out(each_alone(cases))
`);
  assertRefused(out, "/v1/wire/smuggle", "ambiguous");
});

test("a malformed request line or header is refused with 400, nothing reaches the service", async () => {
  const out = await child<AloneResult[]>(String.raw`
H = f"Host: api.openai.com\r\nAuthorization: Bearer {KEY}\r\n"
cases = {
    "header-without-colon": request("GET", "/v1/wire/bad-1", ["X-No-Colon value"]),
    "space-before-colon": request("GET", "/v1/wire/bad-2", ["X-Space : value"]),
    "bad-header-name": request("GET", "/v1/wire/bad-3", ["X(Bad): value"]),
    "content-length-not-a-number": request("POST", "/v1/wire/bad-4", ["Content-Length: 12abc"], b"hello"),
    "negative-content-length": request("POST", "/v1/wire/bad-5", ["Content-Length: -1"], b"hello"),
    "request-line-extra-token": f"GET /v1/wire/bad-6 HTTP/1.1 extra\r\n{H}\r\n".encode(),
    "request-line-bad-version": f"GET /v1/wire/bad-7 HTTP/1.x\r\n{H}\r\n".encode(),
    "no-host": f"GET /v1/wire/bad-8 HTTP/1.1\r\nAuthorization: Bearer {KEY}\r\n\r\n".encode(),
    "target-neither-path-nor-url": request("GET", "v1/wire/bad-9"),
    "absolute-http-target-inside-tls": request("GET", "http://api.openai.com/v1/wire/bad-10"),
}
out(each_alone(cases))
`);
  assertRefused(out, "/v1/wire/bad-", "malformed");
});

test("a request head over 64 KiB is refused with 431, whether it comes in one piece or the blank line comes late, and nothing reaches the service; one of 60 KiB goes through", async () => {
  const out = await child<{ refused: AloneResult[]; allowed: Answer }>(String.raw`
big = lambda path, n: request("GET", path, ["X-Big: " + "b" * n])
allowed = big("/v1/wire/head-60k", 60 * 1024)
c = Conn()
c.send(allowed[:30000])
time.sleep(0.2)
c.send(allowed[30000:])
allowed = c.response()
late = big("/v1/wire/large-2", 70 * 1024)
cases = {
    "one-piece": big("/v1/wire/large-1", 70 * 1024),
    # 60 KiB with no end in sight, then the rest of a field and the blank line
    "blank-line-late": [late[: 60 * 1024], late[60 * 1024 :]],
    "no-end": [big("/v1/wire/large-3", 70 * 1024)[:-4]],
}
out({"refused": each_alone(cases), "allowed": allowed})
`);
  assertRefused(out.refused, "/v1/wire/large-", "oversized", 431);
  for (const r of out.refused) assert.match((r.answer as Answer).text, /"error":"headers_too_large"/, r.name);
  assertJsonAnswer(out.allowed, "/v1/wire/head-60k");
  assert.equal(assertArrived("/v1/wire/head-60k").headers["x-big"]?.length, 60 * 1024);
});

test("an answer whose head is over 64 KiB becomes the proxy's 502; one of 60 KiB passes through", async () => {
  const out = await child<{ over: Answer; under: Answer }>(String.raw`
answers = {}
for name, kib in (("over", 70), ("under", 60)):
    c = Conn()
    c.send(request("GET", f"/big-head?kib={kib}"))
    answers[name] = c.response()
out(answers)
`);
  assert.equal(out.over.status, 502);
  assert.deepEqual(header(out.over, "x-authsome-proxy"), ["1"]);
  assert.match(out.over.text, /"error":"upstream_error"/);
  assert.equal(out.under.status, 200);
  assert.equal(header(out.under, "x-big")[0]?.length, 60 * 1024);
});

/** The answer to one GET of `target` on a connection of its own. */
function getOnce(target: string): Promise<Answer> {
  return child<Answer>(String.raw`
c = Conn()
c.send(request("GET", ${JSON.stringify(target)}))
out(c.response())
`);
}

test("an absolute-form https target inside the tunnel goes to its path, with the credential", async () => {
  const out = await getOnce("https://api.openai.com/v1/wire/absolute?q=1");
  assertJsonAnswer(out, "/v1/wire/absolute");
  assertArrived("/v1/wire/absolute?q=1"); // the query kept, the scheme and host taken off
});

test("a request with Connection: close gets its whole answer, then the connection ends", async () => {
  const out = await child<{ answer: Answer; after: { stray: number; ended: boolean } }>(String.raw`
c = Conn()
c.send(request("GET", "/bytes?n=30000&k=conn-close", ["Connection: close"]))
out({"answer": c.response(), "after": c.quiet(2.0)})
`);
  assert.equal(out.answer.status, 200);
  assert.equal(out.answer.length, 30000);
  assert.equal(out.answer.sha256, sha256(Buffer.alloc(30000, 97)));
  assert.deepEqual(out.after, { stray: 0, ended: true });
  assertArrived("/bytes?n=30000&k=conn-close");
});

test("response headers pass through as sent: reason phrase, order, odd case, repeated fields, commas inside a cookie", async () => {
  const out = await getOnce("/raw-headers");
  assert.equal(out.status, 203);
  assert.equal(out.reason, "Fine By Me");
  assert.equal(out.text, "raw headers\n");
  // the proxy may add or drop its own hop-by-hop fields, and a Date; everything else as the peer sent it
  const endToEnd = out.headers.filter(([n]) => !["connection", "keep-alive", "date"].includes(n.toLowerCase()));
  assert.deepEqual(endToEnd, [
    ["x-MiXeD-cAsE", "Value With  Two Spaces"],
    ["Set-Cookie", "session=abc; Path=/; HttpOnly"],
    ["set-cookie", "pref=dark; Expires=Wed, 21 Oct 2099 07:28:00 GMT"],
    ["SET-COOKIE", "third=3"],
    ["Link", "</a>; rel=preload"],
    ["Link", "</b>; rel=preload"],
    ["X-Empty", ""],
    ["WWW-Authenticate", 'Bearer realm="one"'],
    ["WWW-Authenticate", 'Basic realm="two"'],
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", "12"],
  ]);
  assertArrived("/raw-headers");
});

test("connections to the service are pooled: three client connections, one after another, share one upstream connection", async () => {
  const pooled = await proxyFixture({}, fx.home);
  try {
    const out = await child<{ answers: Answer[] }>(
      String.raw`
answers = []
for i in range(3):
    c = Conn()
    c.send(request("GET", f"/v1/wire/pooled-{i}"))
    answers.append(c.response())
    c.sock.close()
out({"answers": answers})
`,
      pooled,
    );
    for (const [i, a] of out.answers.entries()) {
      assertJsonAnswer(a, `/v1/wire/pooled-${i}`);
      assertArrivedAt(pooled, `/v1/wire/pooled-${i}`);
    }
    assert.equal(pooled.peer.connections(), 1, "one upstream connection served all three");
  } finally {
    await pooled.peer.close();
  }
});

test("after the service closes an idle upstream connection, the next requests still go through with the credential", async () => {
  const idle = await proxyFixture({ keepAliveTimeout: 300 });
  try {
    const out = await child<{ answers: Answer[]; body: { length: number; sha256: string } }>(
      String.raw`
body = os.urandom(2000)
c = Conn()
answers = []
c.send(request("GET", "/v1/wire/idle-1"))
answers.append(c.response())
time.sleep(0.8)
c.send(request("POST", "/v1/wire/idle-2", ["Content-Type: application/octet-stream", f"Content-Length: {len(body)}"], body))
answers.append(c.response())
time.sleep(0.8)
c.send(request("GET", "/v1/wire/idle-3"))
answers.append(c.response())
out({"answers": answers, "body": digest(body)})
`,
      idle,
    );
    for (const [i, a] of out.answers.entries()) assertJsonAnswer(a, `/v1/wire/idle-${i + 1}`);
    assertArrivedAt(idle, "/v1/wire/idle-1");
    assertArrivedAt(idle, "/v1/wire/idle-2", out.body);
    assertArrivedAt(idle, "/v1/wire/idle-3");
    // the scenario happened: the service dropped the idle connections, so the proxy needed new ones
    assert.equal(idle.peer.connections(), 3, "one upstream connection per request, each closed while idle");
  } finally {
    await idle.peer.close();
  }
});

test("a Connection field that names Content-Length or Transfer-Encoding does not take them off: a streamed body arrives whole as one request", async () => {
  // bodies the proxy streams (over 64 KiB, or chunked) keep the child's framing; dropping the
  // framing field would make the service read the body as a request of its own
  const inner = "POST /v1/wire/named-inner HTTP/1.1\\r\\nHost: api.openai.com\\r\\nContent-Length: 5\\r\\n\\r\\nhello";
  const out = await child<{ answers: Answer[]; sized: { length: number; sha256: string }; chunked: { length: number; sha256: string } }>(String.raw`
inner = b"${inner}"
sized = inner + os.urandom(70000)
chunked = inner + b"!"
answers = []
c = Conn()
c.send(request("POST", "/v1/wire/named-length", ["Connection: content-length", "Content-Type: application/octet-stream", f"Content-Length: {len(sized)}"], sized))
answers.append(c.response())
c.send(request("POST", "/v1/wire/named-chunked", ["Connection: transfer-encoding", "Content-Type: application/octet-stream", "Transfer-Encoding: chunked"], f"{len(chunked):x}\r\n".encode() + chunked + b"\r\n0\r\n\r\n"))
answers.append(c.response())
out({"answers": answers, "sized": digest(sized), "chunked": digest(chunked)})
`);
  assertJsonAnswer(out.answers[0]!, "/v1/wire/named-length");
  assertJsonAnswer(out.answers[1]!, "/v1/wire/named-chunked");
  assertArrived("/v1/wire/named-length", out.sized);
  assertArrived("/v1/wire/named-chunked", out.chunked);
  assert.deepEqual(fx.peer.requests.filter((q) => q.path === "/v1/wire/named-inner"), [], "no request was read out of a body");
});

test("a request the service may have acted on is not sent again when a kept-alive connection drops it; a GET is", async () => {
  const dropping = await proxyFixture();
  try {
    const out = await child<{ post: Answer; get: Answer }>(
      String.raw`
c = Conn()
c.send(request("GET", "/v1/wire/warm-1"))
c.response()
c.send(request("POST", "/drop?k=post", ["Content-Type: application/json", "Content-Length: 2"], b"{}"))
post = c.response()
c = Conn()
c.send(request("GET", "/v1/wire/warm-2"))
c.response()
c.send(request("GET", "/drop?k=get"))
out({"post": post, "get": c.response()})
`,
      dropping,
    );
    // the POST reached the service once, on the kept-alive connection, and the child hears why it failed
    assert.equal(dropping.peer.requests.filter((q) => q.path === "/drop?k=post").length, 1, "the POST was sent once");
    assert.equal(out.post.status, 502);
    assert.match(JSON.parse(out.post.text).message, /closed the connection without answering; it was not sent again, as POST is not idempotent/);
    // the GET was sent again on a new connection (which the service dropped too)
    assert.equal(dropping.peer.requests.filter((q) => q.path === "/drop?k=get").length, 2, "the GET was sent twice");
    assert.equal(out.get.status, 502);
  } finally {
    await dropping.peer.close();
  }
});

test("an answer whose length is ambiguous reaches the child settled: Content-Length dropped beside chunked, given once when repeated", async () => {
  const out = await child<{ teCl: Answer; twice: Answer; after: Answer }>(String.raw`
c = Conn()
c.send(request("GET", "/ambiguous-length?kind=te-cl"))
te_cl = c.response()
c.send(request("GET", "/ambiguous-length?kind=twice"))
twice = c.response()
c.send(request("GET", "/v1/wire/after-ambiguous"))
out({"teCl": te_cl, "twice": twice, "after": c.response()})
`);
  assert.deepEqual(header(out.teCl, "content-length"), []);
  assert.deepEqual(header(out.teCl, "transfer-encoding"), ["chunked"]);
  assert.equal(out.teCl.text, "hello");
  assert.deepEqual(header(out.twice, "content-length"), ["5"]);
  assert.deepEqual(header(out.twice, "x-between"), ["1"], "the other fields stay");
  assert.equal(out.twice.text, "hello");
  assertJsonAnswer(out.after, "/v1/wire/after-ambiguous");
});

test("an HTTP/1.0 child gets a chunked answer decoded and ended by the connection's close, and no interim answers", async () => {
  const out = await child<{ chunked: Answer; chunkedEnded: boolean; hints: Answer; hints11: Answer; expect: Answer }>(String.raw`
H = f"Host: api.openai.com\r\nAuthorization: Bearer {KEY}\r\n"
c = Conn()
c.send(f"GET /chunked?n=3 HTTP/1.0\r\n{H}Connection: keep-alive\r\n\r\n".encode())
chunked = c.response()
chunked_ended = c.quiet()["ended"]
c = Conn()
c.send(f"GET /early-hints HTTP/1.0\r\n{H}\r\n".encode())
hints = c.response()
c = Conn()
c.send(request("GET", "/early-hints"))
hints11 = c.response()
c = Conn()
c.send(f"POST /v1/wire/old-expect HTTP/1.0\r\n{H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi".encode())
out({"chunked": chunked, "chunkedEnded": chunked_ended, "hints": hints, "hints11": hints11, "expect": c.response()})
`);
  assert.equal(out.chunked.status, 200);
  assert.deepEqual(header(out.chunked, "transfer-encoding"), [], "no chunked framing for an HTTP/1.0 child");
  assert.deepEqual(header(out.chunked, "connection"), ["close"]);
  assert.equal(out.chunked.framing, "close");
  assert.equal(out.chunked.text, "chunk 0\nchunk 1\nchunk 2\n");
  assert.equal(out.chunkedEnded, true);
  assert.deepEqual(out.hints.interim, [], "no 103 for an HTTP/1.0 child");
  assert.deepEqual(out.hints11.interim, [103], "an HTTP/1.1 child gets the 103");
  assert.deepEqual(out.expect.interim, [], "no 100 Continue for an HTTP/1.0 child");
  assertJsonAnswer(out.expect, "/v1/wire/old-expect");
});

test("the proxy's own 502 honours the child's Connection: close", async () => {
  // the routed host resolves to a port where nothing listens
  const r = await fx.run([SYSTEM_PYTHON, "-c", PRELUDE + String.raw`
c = Conn()
c.send(request("GET", "/v1/wire/unreachable", ["Connection: close"]))
out({"answer": c.response(), "after": c.quiet(2.0)})
`], { options: ["--resolve", "api.openai.com:443:127.0.0.1:1"] });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { answer: Answer; after: { stray: number; ended: boolean } };
  assert.equal(out.answer.status, 502);
  assert.equal(JSON.parse(out.answer.text).error, "upstream_unreachable");
  assert.deepEqual(header(out.answer, "connection"), ["close"]);
  assert.deepEqual(out.after, { stray: 0, ended: true });
});
