// The floor for bench/proxy.mjs: the least any TLS-intercepting proxy written in Node can do on
// this machine. It answers CONNECT, terminates the child's TLS, opens TLS to the server and
// passes bytes both ways, swapping the placeholder for the key where it appears; no HTTP is
// parsed, nothing is pooled, nothing is checked. Only for the bench's own GETs.
// Usage: node bench/tls-relay-floor.mjs CERT KEY CA UPSTREAM_PORT PLACEHOLDER SECRET  (prints its port)
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";

const [certFile, keyFile, caFile, upstreamPort, placeholder, secret] = process.argv.slice(2);
const server = tls.createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
const upstream = tls.createSecureContext({ ca: readFileSync(caFile) });
const from = Buffer.from(placeholder);
const to = Buffer.from(secret);

net
  .createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.once("data", (connect) => {
      if (!connect.includes("\r\n\r\n")) return void socket.destroy(); // the bench's CONNECT comes in one piece
      socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      const child = new tls.TLSSocket(socket, { isServer: true, secureContext: server });
      const up = tls.connect({ host: "127.0.0.1", port: Number(upstreamPort), servername: "localhost", secureContext: upstream });
      up.setNoDelay(true);
      child.on("data", (chunk) => {
        const at = chunk.indexOf(from);
        up.write(at < 0 ? chunk : Buffer.concat([chunk.subarray(0, at), to, chunk.subarray(at + from.length)]));
      });
      up.on("data", (chunk) => child.write(chunk));
      for (const [a, b] of [[child, up], [up, child]]) {
        a.on("error", () => b.destroy());
        a.on("close", () => b.destroy());
      }
    });
  })
  .listen(0, "127.0.0.1", function () {
    console.log(this.address().port);
  });
