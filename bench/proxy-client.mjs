// The measuring side of bench/proxy.mjs: runs inside `authsome run`, so HTTPS_PROXY and the run CA
// come from the environment. Keep-alive HTTPS GETs, direct / through authsome / through mitmproxy.
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import { Agent, ProxyAgent, request } from "undici";

const cfg = JSON.parse(process.argv[2]);
const peerCa = readFileSync(cfg.peerCa, "utf8");
const runCa = readFileSync(process.env.NODE_EXTRA_CA_CERTS, "utf8");

const dispatchers = {
  direct: () => new Agent({ connect: { ca: [peerCa], servername: cfg.host }, connections: 64 }),
  authsome: () => new ProxyAgent({ uri: process.env.HTTPS_PROXY, requestTls: { ca: [...rootCertificates, runCa] }, connections: 64 }),
};
if (cfg.mitm) dispatchers.mitmproxy = () => new ProxyAgent({ uri: `http://127.0.0.1:${cfg.mitm.port}`, requestTls: { ca: [readFileSync(cfg.mitm.ca, "utf8")] }, connections: 64 });

// direct goes to the address; the others ask for the host name and the proxy resolves it
const urlFor = (mode, size) => (mode === "direct" ? `https://127.0.0.1:${cfg.port}/bytes?n=${size}` : `https://${cfg.host}:${cfg.port}/bytes?n=${size}`);

async function once(dispatcher, url, mode) {
  const headers = { authorization: "Bearer authsome-proxy-managed" };
  if (mode === "direct") {
    headers.host = `${cfg.host}:${cfg.port}`;
    headers.authorization = `Bearer ${cfg.key}`; // direct: the client holds the key itself
  }
  const t = performance.now();
  const res = await request(url, { dispatcher, headers });
  let n = 0;
  for await (const chunk of res.body) n += chunk.length;
  if (res.statusCode !== 200) throw new Error(`${mode}: status ${res.statusCode}`);
  return [performance.now() - t, n];
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function measure(mode, size) {
  const dispatcher = dispatchers[mode]();
  const url = urlFor(mode, size);
  for (let i = 0; i < 50; i++) await once(dispatcher, url, mode); // warm: connections, leaf certs
  // latency: one request at a time
  const lat = [];
  const latCount = size > 100_000 ? 200 : 1000;
  for (let i = 0; i < latCount; i++) lat.push((await once(dispatcher, url, mode))[0]);
  lat.sort((a, b) => a - b);
  // throughput: a closed loop of concurrent keep-alive clients for a fixed time, after a warm-up
  // at the same concurrency (so every connection and TLS session is open before counting)
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
  const warm = performance.now() + 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (performance.now() < warm) await once(dispatcher, url, mode); }));
  const until = performance.now() + cfg.seconds * 1000;
  let count = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        await once(dispatcher, url, mode);
        count++;
      }
    }),
  );
  const rps = count / ((performance.now() - start) / 1000);
  await dispatcher.close();
  return { mode, size, rps, p50: pct(lat, 50), p99: pct(lat, 99) };
}

const results = [];
for (const size of [1024, 1024 * 1024]) for (const mode of Object.keys(dispatchers)) results.push(await measure(mode, size));
console.log(JSON.stringify(results));
