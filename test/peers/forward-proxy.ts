// A real forward proxy standing in for the user's own (a company's egress proxy): Debian's
// mitmproxy in its regular mode, with Basic proxy authentication. CONNECT tunnels pass through
// undecrypted (ignore_hosts), plain http is forwarded. Test names are sent to local servers by a
// small add-on (the only name resolution a test can change), which also logs every CONNECT and
// every plain request the proxy handled, with the credential it was given.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { freePort, tempDir } from "../helpers.js";

export const MITMDUMP = ["/usr/bin/mitmdump", "/usr/local/bin/mitmdump"].find(existsSync);

export interface ProxyLogEntry {
  /** "host:port" of a CONNECT, or the absolute URL of a plain request. */
  connect?: string;
  request?: string;
  /** [user, password] the proxy accepted, or null. */
  auth: [string, string] | null;
  /** The request's fields as the proxy received them (plain requests). */
  headers?: Record<string, string>;
}

export interface ForwardProxy {
  port: number;
  /** The proxy's URL with the given credential. */
  url(user?: string, password?: string): string;
  log(): ProxyLogEntry[];
  close(): Promise<void>;
}

const ADDON = `
import json, os
MAP = json.loads(os.environ["FORWARD_PROXY_MAP"])
LOG = open(os.environ["FORWARD_PROXY_LOG"], "a", buffering=1)
def server_connect(data):
    host, port = data.server.address
    target = MAP.get(f"{host}:{port}")
    if target:
        data.server.address = ("127.0.0.1", target)
def http_connect(flow):
    LOG.write(json.dumps({"connect": f"{flow.request.host}:{flow.request.port}", "auth": flow.metadata.get("proxyauth")}) + "\\n")
def request(flow):
    LOG.write(json.dumps({"request": flow.request.url, "auth": flow.metadata.get("proxyauth"), "headers": dict(flow.request.headers)}) + "\\n")
`;

/** Starts the proxy: `map` sends "host:port" to 127.0.0.1:<port>; `credential` is "user:password". */
export async function startForwardProxy(map: Record<string, number>, credential: string): Promise<ForwardProxy> {
  if (!MITMDUMP) throw new Error("mitmproxy is not installed");
  const dir = tempDir("authsome-forward-proxy-");
  const addon = join(dir, "addon.py");
  const logFile = join(dir, "log.jsonl");
  writeFileSync(addon, ADDON);
  writeFileSync(logFile, "");
  const port = await freePort();
  const proc: ChildProcess = spawn(
    MITMDUMP,
    ["-q", "--listen-host", "127.0.0.1", "-p", String(port), "-s", addon, "--set", `confdir=${join(dir, "conf")}`, "--set", "ignore_hosts=.*", "--set", `proxyauth=${credential}`],
    { env: { ...process.env, FORWARD_PROXY_MAP: JSON.stringify(map), FORWARD_PROXY_LOG: logFile }, stdio: "ignore" },
  );
  await untilListening(port, proc);
  return {
    port,
    url: (user, password) => `http://${user === undefined ? "" : `${encodeURIComponent(user)}${password === undefined ? "" : `:${encodeURIComponent(password)}`}@`}127.0.0.1:${port}`,
    log: () =>
      readFileSync(logFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ProxyLogEntry),
    async close() {
      if (proc.exitCode !== null) return;
      proc.kill();
      await once(proc, "exit");
    },
  };
}

async function untilListening(port: number, proc: ChildProcess): Promise<void> {
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (proc.exitCode !== null) throw new Error(`mitmdump exited with ${proc.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error("mitmdump did not start listening");
}
