// The measuring side of bench/proxy.mjs: runs inside `authsome run`, so HTTPS_PROXY and the run CA
// come from the environment. Keep-alive HTTPS GETs, direct / through authsome / through mitmproxy,
// all with the same client stack (node:https keep-alive agents; through a proxy, each pooled
// connection is a CONNECT tunnel), so the ratios compare the paths, not the clients.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";

const cfg = JSON.parse(process.argv[2]);
const peerCa = readFileSync(cfg.peerCa, "utf8");
const CONNECTIONS = 64;

/** A keep-alive agent whose connections are CONNECT tunnels through `proxy`. */
class TunnelAgent extends https.Agent {
  constructor(proxy, ca) {
    super({ keepAlive: true, maxSockets: CONNECTIONS, ...(ca ? { ca } : {}) });
    this.proxy = new URL(proxy);
  }
  createConnection(options, done) {
    const auth = this.proxy.username ? { "proxy-authorization": `Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString("base64")}` } : {};
    const req = http.request({ host: this.proxy.hostname, port: this.proxy.port, method: "CONNECT", path: `${options.host}:${options.port}`, headers: { host: `${options.host}:${options.port}`, ...auth } });
    req.once("connect", (res, socket) => {
      if (res.statusCode !== 200) return done(new Error(`CONNECT answered ${res.statusCode}`));
      socket.setNoDelay(true);
      done(null, tls.connect({ socket, servername: options.servername ?? options.host, ...(options.ca ? { ca: options.ca } : {}) }));
    });
    req.once("error", done);
    req.end();
    return undefined;
  }
}

const agents = {
  direct: () => new https.Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca: [peerCa] }),
  // the run CA is trusted the way every Node child of `authsome run` trusts it: NODE_EXTRA_CA_CERTS,
  // which Node reads at start-up. (Passing that file as `ca` would make https.Agent key every request
  // by the whole bundle it holds, the user's CAs included: a cost of this client, not of the proxy.)
  authsome: () => new TunnelAgent(process.env.HTTPS_PROXY, undefined),
};
for (const [mode, { port }] of Object.entries(cfg.floors)) agents[mode] = () => new TunnelAgent(`http://127.0.0.1:${port}`, [peerCa]);
if (cfg.mitm) agents.mitmproxy = () => new TunnelAgent(`http://127.0.0.1:${cfg.mitm.port}`, [readFileSync(cfg.mitm.ca, "utf8")]);
// the process doing each path's proxying: authsome's proxy lives in the `authsome run` that started this client
const proxyPid = { authsome: process.ppid, ...Object.fromEntries(Object.entries(cfg.floors).map(([mode, { pid }]) => [mode, pid])), ...(cfg.mitm ? { mitmproxy: cfg.mitm.pid } : {}) };

/** CPU time (user + system, all threads) a process has used, in µs (clock ticks of 10 ms). */
function cpuMicros(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(")").pop().trim().split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function once(agent, mode, size) {
  // direct: the client holds the key itself; through a proxy it holds only the placeholder
  const authorization = mode === "direct" ? `Bearer ${cfg.key}` : "Bearer authsome-proxy-managed";
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: mode === "direct" ? "127.0.0.1" : cfg.host, servername: cfg.host, port: cfg.port, path: `/bytes?n=${size}`, agent, headers: { host: `${cfg.host}:${cfg.port}`, authorization } },
      (res) => {
        let n = 0;
        res.on("data", (c) => (n += c.length));
        res.on("end", () => (res.statusCode === 200 ? resolve([performance.now() - t, n]) : reject(new Error(`${mode}: status ${res.statusCode}`))));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);

/**
 * One round of one path: latency one request at a time, then a closed loop of concurrent clients
 * for a fixed time; returns its requests per second and its proxy's CPU µs per request.
 */
async function round(agent, mode, size, lat) {
  const latCount = Math.ceil((size > 100_000 ? 200 : 1000) / cfg.rounds);
  for (let i = 0; i < latCount; i++) lat.push((await once(agent, mode, size))[0]);
  const loop = async (until, count) => {
    await Promise.all(Array.from({ length: concurrency }, async () => { while (performance.now() < until) { await once(agent, mode, size); count.n++; } }));
  };
  // a warm-up at the same concurrency, so every connection and TLS session is open before counting
  await loop(performance.now() + 500, { n: 0 });
  const count = { n: 0 };
  const pid = proxyPid[mode];
  const cpuBefore = pid ? cpuMicros(pid) : 0;
  const start = performance.now();
  await loop(start + cfg.seconds * 1000, count);
  const rps = count.n / ((performance.now() - start) / 1000);
  return { rps, cpu: pid ? (cpuMicros(pid) - cpuBefore) / count.n : undefined };
}

// The paths take turns, round after round, so that a slow spell of the machine falls on all of
// them; each path's figure is its median round, its latency percentiles those of all its samples.
const results = [];
for (const size of [1024, 1024 * 1024]) {
  const paths = Object.keys(agents).map((mode) => ({ mode, agent: agents[mode](), lat: [], rps: [], cpu: [] }));
  for (const p of paths) for (let i = 0; i < 50; i++) await once(p.agent, p.mode, size); // warm: connections, leaf certs
  for (let r = 0; r < cfg.rounds; r++) {
    for (const p of paths) {
      const { rps, cpu } = await round(p.agent, p.mode, size, p.lat);
      p.rps.push(rps);
      if (cpu !== undefined) p.cpu.push(cpu);
    }
  }
  for (const p of paths) {
    p.agent.destroy();
    p.lat.sort((a, b) => a - b);
    results.push({ mode: p.mode, size, rps: median(p.rps), rounds: p.rps, p50: pct(p.lat, 50), p99: pct(p.lat, 99), ...(p.cpu.length ? { cpu: median(p.cpu) } : {}) });
  }
}
console.log(JSON.stringify(results));
