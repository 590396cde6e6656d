// A request head that never ends does not hold the proxy's connection: with a limit of 200 ms,
// a connection that sends half a head, or nothing at all, is closed; a kept-alive connection
// waiting for its next request is not.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import net, { type AddressInfo } from "node:net";
import { RunCa } from "../../src/proxy/ca.js";
import type { CredentialSource } from "../../src/proxy/inject.js";
import { RouteTable } from "../../src/proxy/router.js";
import { startProxy, type RunningProxy } from "../../src/proxy/server.js";

const TOKEN = "head-timeout-test";
const AUTH = `Proxy-Authorization: Basic ${Buffer.from(`authsome:${TOKEN}`).toString("base64")}\r\n`;
let proxy: RunningProxy;
let service: Server;
let servicePort: number;

before(async () => {
  // nothing is routed: the credential source is never asked
  proxy = await startProxy({ token: TOKEN, ca: new RunCa(), routes: new RouteTable({ definitions: [], connections: [] }), credentials: {} as CredentialSource, headTimeoutMs: 200 });
  service = createServer({ keepAliveTimeout: 60_000 }, (_req, res) => res.end("plain"));
  service.listen(0, "127.0.0.1");
  await once(service, "listening");
  servicePort = (service.address() as AddressInfo).port;
});
after(async () => {
  await proxy.close();
  service.closeAllConnections();
  service.close();
});

/** A connection to the proxy's port; `ended` settles when the proxy closes it (or after 5 s: false). */
async function connect(): Promise<{ socket: net.Socket; received: () => string; ended: Promise<boolean> }> {
  const socket = net.connect((proxy as RunningProxy).port, "127.0.0.1");
  await once(socket, "connect");
  let data = "";
  socket.on("data", (d: Buffer) => (data += d.toString("latin1")));
  const ended = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 5000);
    socket.on("close", () => (clearTimeout(timer), resolve(true)));
    socket.on("error", () => {});
  });
  return { socket, received: () => data, ended };
}

test("half a head, or nothing at all, does not hold the connection past the limit", async () => {
  const half = await connect();
  half.socket.write(`CONNECT api.example.test:443 HTTP/1.1\r\nHost: api.example.test:443\r\n`);
  const silent = await connect();
  assert.equal(await half.ended, true, "the connection with half a head was closed");
  assert.equal(await silent.ended, true, "the silent connection was closed");
});

test("a kept-alive connection waits for its next request as long as it likes", async () => {
  const c = await connect();
  const ask = async (): Promise<string> => {
    const before = c.received().length;
    c.socket.write(`GET http://127.0.0.1:${servicePort}/ HTTP/1.1\r\nHost: 127.0.0.1:${servicePort}\r\n${AUTH}\r\n`);
    while (!c.received().slice(before).endsWith("plain")) await once(c.socket, "data");
    return c.received().slice(before);
  };
  assert.match(await ask(), /^HTTP\/1\.1 200 OK/);
  // idle for five times the limit, then a second request on the same connection
  await new Promise((r) => setTimeout(r, 1000));
  assert.match(await ask(), /^HTTP\/1\.1 200 OK/);
  c.socket.destroy();
});
