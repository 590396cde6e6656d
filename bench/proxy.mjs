// authsome run's proxy against going direct, against floor relays (bench/tls-relay-floor.mjs, .c)
// and against mitmproxy with a header-injection script (when Debian's mitmdump is installed), in
// one run: keep-alive HTTPS GETs of 1 KiB and 1 MiB from a local TLS server. Prints requests per
// second, p50/p99 latency, the proxying process's CPU time per request, and the ratios.
// Usage: node bench/proxy.mjs [seconds-per-throughput-phase] [rounds]   (after `npm run build`)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const seconds = Number(process.argv[2] ?? 2);
const rounds = Number(process.argv[3] ?? 3);
const work = mkdtempSync(join(tmpdir(), "authsome-bench-proxy-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));
const HOST = "localhost";
const KEY = "sk-bench" + "K".repeat(32);

// the upstream: a TLS server with its own CA (openssl), serving n bytes
const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const ossl = (args) => execFileSync("openssl", args, { cwd: work, stdio: "ignore" });
ossl(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
writeFileSync(join(work, "ext"), `subjectAltName=DNS:${HOST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
ossl(["req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", `/CN=${HOST}`]);
ossl(["x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "srv.pem", "-days", "2", "-extfile", "ext"]);
const bodies = new Map();
let wrongAuth = 0;
const server = https.createServer({ key: execFileSync("cat", [join(work, "srv.key")]), cert: execFileSync("cat", [join(work, "srv.pem")]), keepAlive: true, keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.headers.authorization !== `Bearer ${KEY}`) wrongAuth++;
  const n = Number(new URL(req.url, "https://x").searchParams.get("n") ?? 1024);
  if (!bodies.has(n)) bodies.set(n, Buffer.alloc(n, 97));
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": n });
  res.end(bodies.get(n));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

// a home with one API-key provider routed to the server
const home = join(work, "home");
mkdirSync(join(home, "providers"), { recursive: true, mode: 0o700 });
writeFileSync(join(home, "providers", "bench.json"), JSON.stringify({ schema_version: 1, name: "bench", display_name: "Bench", auth_type: "api_key", flow: "api_key", routes: [{ host: `${HOST}:${port}` }], api_key: {}, export: { env: { api_key: "BENCH_KEY" } } }));
const env = { ...process.env, AUTHSOME_HOME: home, BENCH_KEY: KEY };
const login = spawnSync(process.execPath, [join(root, "bin/authsome.js"), "login", "bench"], { env, encoding: "utf8" });
if (login.status !== 0) throw new Error(`login failed: ${login.stderr}`);

// mitmproxy, when installed: a one-line add-on that sets the header
let mitm;
const mitmdump = ["/usr/bin/mitmdump", "/usr/local/bin/mitmdump"].find(existsSync);
if (mitmdump) {
  const confdir = join(work, "mitm");
  mkdirSync(confdir);
  writeFileSync(join(work, "inject.py"), `def request(flow):\n    if flow.request.pretty_host == "${HOST}":\n        flow.request.headers["Authorization"] = "Bearer ${KEY}"\n`);
  const mport = await freePort();
  const proc = spawn(mitmdump, ["-q", "--listen-host", "127.0.0.1", "-p", String(mport), "-s", join(work, "inject.py"), "--set", `confdir=${confdir}`, "--set", `ssl_verify_upstream_trusted_ca=${join(work, "ca.pem")}`], { stdio: "ignore" });
  process.on("exit", () => proc.kill());
  await waitForPort(mport, 20_000);
  mitm = { port: mport, ca: join(confdir, "mitmproxy-ca-cert.pem"), proc };
}

// the floors: a byte relay that swaps the placeholder without parsing HTTP, in Node
// (bench/tls-relay-floor.mjs) and, when a C compiler and OpenSSL's headers are here, in C
// (bench/tls-relay-floor.c)
const floorArgs = [join(work, "srv.pem"), join(work, "srv.key"), join(work, "ca.pem"), String(port), "Bearer authsome-proxy-managed", `Bearer ${KEY}`];
const floors = { floor: await startRelay(process.execPath, [join(root, "bench/tls-relay-floor.mjs"), ...floorArgs]) };
const nativeFloor = join(work, "tls-relay-floor");
const compiled = spawnSync("cc", ["-O2", "-o", nativeFloor, join(root, "bench/tls-relay-floor.c"), "-lssl", "-lcrypto", "-lpthread"], { encoding: "utf8" });
if (compiled.status === 0) floors["native floor"] = await startRelay(nativeFloor, floorArgs);

const cfg = { port, host: HOST, key: KEY, peerCa: join(work, "ca.pem"), seconds, rounds, floors: Object.fromEntries(Object.entries(floors).map(([mode, relay]) => [mode, { port: relay.port, pid: relay.proc.pid }])), ...(mitm ? { mitm: { port: mitm.port, ca: mitm.ca, pid: mitm.proc.pid } } : {}) };
// asynchronous: the upstream server lives in this process
const run = await new Promise((resolve) => {
  const child = spawn(process.execPath, [join(root, "bin/authsome.js"), "--quiet", "run", "--provider", "bench", "--resolve", `${HOST}:${port}:127.0.0.1:${port}`, "--upstream-ca", join(work, "ca.pem"), "--", process.execPath, join(root, "bench/proxy-client.mjs"), JSON.stringify(cfg)], { env: { ...env, BENCH_KEY: undefined }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
  child.on("close", (status) => resolve({ status, stdout, stderr }));
});
mitm?.proc.kill();
for (const relay of Object.values(floors)) relay.proc.kill();
server.close();
server.closeAllConnections();
if (run.status !== 0) throw new Error(`bench client failed (${run.status}): ${run.stderr}`);
if (wrongAuth > 0) throw new Error(`${wrongAuth} requests reached the server without the key`);
const results = JSON.parse(run.stdout.trim().split("\n").pop());

const f = (x, d = 0) => x.toFixed(d);
console.log(`proxy benchmark: keep-alive HTTPS GET; ${rounds} rounds in turn, each a ${seconds}s throughput phase at concurrency 16 (req/s: the median round) and latency one at a time`);
console.log("size    path          req/s     p50 ms   p99 ms   proxy CPU µs/req   rounds (req/s)");
for (const r of results) console.log(`${(r.size === 1024 ? "1 KiB" : "1 MiB").padEnd(8)}${r.mode.padEnd(14)}${f(r.rps).padStart(7)}   ${f(r.p50, 3).padStart(7)}  ${f(r.p99, 3).padStart(7)}   ${(r.cpu === undefined ? "-" : f(r.cpu)).padStart(16)}   ${r.rounds.map((x) => f(x)).join(" ")}`);
for (const size of [1024, 1024 * 1024]) {
  const by = Object.fromEntries(results.filter((r) => r.size === size).map((r) => [r.mode, r]));
  const label = size === 1024 ? "1 KiB" : "1 MiB";
  const parts = [`${label}: authsome/direct throughput ${f(by.authsome.rps / by.direct.rps, 2)}x (aim >= 0.7x)`, `added p50 ${f(by.authsome.p50 - by.direct.p50, 3)} ms (aim <= 1 ms)`];
  if (by.mitmproxy) parts.push(`authsome/mitmproxy throughput ${f(by.authsome.rps / by.mitmproxy.rps, 2)}x (aim >= 3x)`);
  console.log(parts.join(", "));
  for (const mode of Object.keys(floors)) console.log(`${" ".repeat(label.length + 2)}${mode}/direct throughput ${f(by[mode].rps / by.direct.rps, 2)}x, ${mode} added p50 ${f(by[mode].p50 - by.direct.p50, 3)} ms; authsome/${mode} throughput ${f(by.authsome.rps / by[mode].rps, 2)}x, proxy CPU per request ${f(by.authsome.cpu / by[mode].cpu, 2)}x`);
}
console.log("(proxy CPU: user and system time of the proxying process per request in the throughput phase, median round; the client, the server and the proxy share this machine's cores, so the proxy's CPU per request is what its throughput ratio pays for)");
console.log("(floor: a relay that terminates TLS and swaps the placeholder without parsing HTTP, the least an intercepting proxy whose bytes pass through Node's TLS costs on this machine; native floor: the same relay in C, no JavaScript on the data path)");
if (!floors["native floor"]) console.log(`(native floor skipped: bench/tls-relay-floor.c did not build: ${(compiled.error?.message ?? compiled.stderr).trim().split("\n")[0]})`);
if (!mitm) console.log("(mitmproxy not installed: its comparison was skipped)");

/** Starts a floor relay and resolves with its port (the first line it prints); it dies with the bench. */
async function startRelay(command, args) {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  process.on("exit", () => proc.kill());
  const port = await new Promise((resolve, reject) => {
    proc.once("error", reject);
    proc.stdout.once("data", (d) => resolve(Number(String(d).trim())));
  });
  return { port, proc };
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitForPort(p, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(p, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("mitmdump did not start");
}
