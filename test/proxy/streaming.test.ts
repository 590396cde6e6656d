// Streaming through the proxy: server-sent events arrive as they are sent (no buffering), and
// a WebSocket upgrade carries the credential and then echoes both ways.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers.js";
import { proxyFixture, SECRETS, seen, type ProxyFixture } from "./fixtures.js";

let fx: ProxyFixture;
before(async () => {
  fx = await proxyFixture();
});
after(async () => {
  await fx.peer.close();
});

test("server-sent events reach the child as they are sent", async () => {
  // each event carries the server's send time; the child notes when it arrived
  const script = `const res = await fetch("https://api.openai.com/sse?n=6&interval=400", { headers: { accept: "text/event-stream" } });
const sent = [], arrived = []; let buf = "";
for await (const chunk of res.body) {
  buf += new TextDecoder().decode(chunk);
  let i;
  while ((i = buf.indexOf("\\n\\n")) >= 0) {
    const event = buf.slice(0, i); buf = buf.slice(i + 2);
    sent.push(Number(/data: (\\d+)/.exec(event)[1]));
    arrived.push(Date.now());
  }
}
console.log(JSON.stringify({ status: res.status, type: res.headers.get("content-type"), sent, arrived }));`;
  const r = await fx.run([process.execPath, "--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: number; type: string; sent: number[]; arrived: number[] };
  assert.equal(out.status, 200);
  assert.equal(out.type, "text/event-stream");
  assert.equal(out.sent.length, 6);
  // not a speed check: each event reached the child before the server sent the next one, which a
  // proxy that buffers the response (or holds events back) cannot do
  for (let i = 0; i + 1 < out.sent.length; i++) {
    assert.ok(out.arrived[i]! < out.sent[i + 1]!, `event ${i} arrived only after event ${i + 1} was sent (${JSON.stringify(out)})`);
  }
  assert.equal(seen(fx.peer, "/sse?n=6&interval=400").headers.authorization, `Bearer ${SECRETS.openai}`);
});

test("a child that stops reading a long answer holds the service back too (the proxy does not buffer it)", async () => {
  // 256 MiB on offer; the child reads one piece, then nothing for 2 s, then asks how far the service got
  const script = `const res = await fetch("https://api.openai.com/flood?n=268435456&id=paused");
const reader = res.body.getReader();
await reader.read();
await new Promise((r) => setTimeout(r, 2000));
const status = await (await fetch("https://api.openai.com/flood-written?id=paused")).json();
console.log(JSON.stringify({ status: res.status, written: status.written }));
process.exit(0);`;
  const r = await fx.run([process.execPath, "--input-type=module", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { status: number; written: number };
  assert.equal(out.status, 200);
  // socket buffers on both sides of the proxy and its own window hold a few MiB; a proxy that
  // kept reading while the child did not would have taken far more in 2 s
  assert.ok(out.written > 0 && out.written < 48 * 1024 * 1024, `the service wrote ${out.written} bytes while the child read none`);
  assert.equal(seen(fx.peer, "/flood?n=268435456&id=paused").headers.authorization, `Bearer ${SECRETS.openai}`);
});

test("a WebSocket upgrade carries the credential and echoes through the proxy", async () => {
  // ws does not read HTTPS_PROXY: the child opens the CONNECT tunnel itself, as proxy-aware clients do
  const script = `const http = require("node:http"), tls = require("node:tls");
const WebSocket = require(${JSON.stringify(join(ROOT, "node_modules/ws"))});
const proxy = new URL(process.env.HTTPS_PROXY);
const auth = "Basic " + Buffer.from(decodeURIComponent(proxy.username) + ":" + decodeURIComponent(proxy.password)).toString("base64");
http.request({ host: proxy.hostname, port: proxy.port, method: "CONNECT", path: "api.openai.com:443", headers: { "proxy-authorization": auth } })
  .on("connect", (res, socket) => {
    if (res.statusCode !== 200) { console.error("CONNECT", res.statusCode); process.exit(1); }
    const ws = new WebSocket("wss://api.openai.com/v1/realtime", {
      headers: { authorization: "Bearer " + process.env.OPENAI_API_KEY },
      createConnection: () => tls.connect({ socket, servername: "api.openai.com" }),
    });
    const got = [];
    ws.on("open", () => { ws.send("hello"); ws.send(Buffer.from([1, 2, 3])); });
    ws.on("message", (data) => { got.push(Buffer.from(data).toString("hex")); if (got.length === 2) { console.log(JSON.stringify(got)); ws.close(); } });
    ws.on("error", (e) => { console.error(e.message); process.exit(1); });
  }).end();`;
  const r = await fx.run([process.execPath, "-e", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [Buffer.from("hello").toString("hex"), "010203"]);
  const upgrade = seen(fx.peer, "/v1/realtime");
  assert.equal(upgrade.websocket, true);
  assert.equal(upgrade.headers.authorization, `Bearer ${SECRETS.openai}`);
  assert.equal(upgrade.sni, "api.openai.com");
});
