// The relay's HTTP/1.1 framing on its own: where a chunked body ends however its bytes are cut
// into pieces, and which heads are refused before anything is forwarded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ChunkedBody, MessageError, parseRequestHead, parseResponseHead, requestFraming, responseFraming } from "../../src/proxy/http1.js";

const BODY = "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer-One: x\r\n\r\n";
const NEXT = "GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

test("a chunked body ends at its last chunk and trailers, wherever the pieces are cut", () => {
  const bytes = Buffer.from(BODY + NEXT, "latin1");
  for (let cut = 1; cut < bytes.length; cut++) {
    const body = new ChunkedBody();
    const data: Buffer[] = [];
    let used = 0;
    for (const piece of [bytes.subarray(0, cut), bytes.subarray(cut)]) {
      if (body.done) break;
      used += body.feed(piece, (d) => data.push(Buffer.from(d)));
    }
    assert.equal(body.done, true, `cut at ${cut}`);
    assert.equal(used, BODY.length, `cut at ${cut}: the next request's bytes are left alone`);
    assert.equal(Buffer.concat(data).toString(), "helloabcdefghijklmnopqrstuvwxyz");
  }
});

test("malformed chunked bodies are refused, trailers and extensions held to the rules of a head", () => {
  const ends = "5\r\nhello\r\n0\r\n";
  for (const bad of ["zz\r\nhello\r\n", "5\r\nhelloX\r\n", "5\nhello\r\n", "5;a=\x00\r\nhello\r\n", "5;a\rb\r\nhello\r\n", `${ends}No-Colon\r\n\r\n`, `${ends}X: a\rb\r\n\r\n`, `${ends}X: a\r\n folded\r\n\r\n`, `${ends}Bad Name: x\r\n\r\n`]) {
    assert.throws(() => new ChunkedBody().feed(Buffer.from(bad)), MessageError, JSON.stringify(bad));
  }
});

const request = (text: string) => parseRequestHead(Buffer.from(text + "\r\n", "latin1"));

test("request framing: sized, chunked, none; ambiguous framing is refused", () => {
  assert.deepEqual(requestFraming(request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n")), { kind: "length", length: 12 });
  assert.deepEqual(requestFraming(request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n")), { kind: "chunked" });
  assert.deepEqual(requestFraming(request("GET / HTTP/1.1\r\nHost: a\r\n")), { kind: "none" });
  for (const bad of [
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n",
    // only spaces and tabs are optional whitespace: a value that ends in another blank is not "chunked" or a number
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\x0c\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, \xa0\r\n",
    // a Transfer-Encoding field with no coding in it still counts
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\nContent-Length: 3\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,\r\n",
  ]) {
    assert.throws(() => requestFraming(request(bad)), (e: unknown) => e instanceof MessageError && e.status === 400, JSON.stringify(bad));
  }
});

test("request heads: a line break inside a value, folding, a missing Host and a bad request line are refused", () => {
  for (const bad of ["GET /a\x01b HTTP/1.1\r\nHost: a\r\n", "GET /a\x7f HTTP/1.1\r\nHost: a\r\n", "GET /a#fragment HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX: one\ntwo\r\n", "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n", "GET / HTTP/1.1\r\n", "GET / extra HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n"]) {
    assert.throws(() => request(bad), (e: unknown) => e instanceof MessageError && e.status === 400, JSON.stringify(bad));
  }
});

test("response framing: HEAD, 1xx, 204 and 304 have no body; no length means the connection's end", () => {
  const response = (text: string) => parseResponseHead(Buffer.from(text + "\r\n", "latin1"));
  assert.deepEqual(responseFraming("HEAD", response("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n")), { kind: "none" });
  assert.deepEqual(responseFraming("GET", response("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n")), { kind: "none" });
  assert.deepEqual(responseFraming("GET", response("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n")), { kind: "length", length: 50 });
  assert.deepEqual(responseFraming("GET", response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")), { kind: "chunked" });
  assert.deepEqual(responseFraming("GET", response("HTTP/1.1 200 OK\r\n")), { kind: "close" });
  assert.throws(() => responseFraming("GET", response("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n")), (e: unknown) => e instanceof MessageError && e.status === 502);
});
