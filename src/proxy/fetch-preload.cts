// Preloaded into Node children of `authsome run` (NODE_OPTIONS --require). Before Node
// 22.21/24, neither fetch nor the https module reads HTTPS_PROXY: route fetch through
// undici's EnvHttpProxyAgent and https.globalAgent through a CONNECT tunnel. Never fails the child.
import https = require("node:https");
import net = require("node:net");
import tls = require("node:tls");

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
const native = process.env.NODE_USE_ENV_PROXY === "1" && (major >= 24 || (major === 22 && minor >= 21) || (major === 23 && minor >= 11));

function noProxy(host: string, port: number): boolean {
  const list = (process.env.NO_PROXY ?? process.env.no_proxy ?? "").split(/[,\s]+/).filter(Boolean);
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  return list.some((entry) => {
    if (entry === "*") return true;
    const [name = "", p] = entry.toLowerCase().replace(/^\[|\]$/g, "").split(/:(?=\d+$)/);
    if (p && Number(p) !== port) return false;
    const bare = name.replace(/^\*?\./, "");
    return h === bare || h.endsWith(`.${bare}`);
  });
}

function installFetch(): void {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const undici = require("undici") as { setGlobalDispatcher(d: unknown): void; EnvHttpProxyAgent: new () => unknown };
    // undici flags EnvHttpProxyAgent as experimental on stderr: not the child's business
    const emit = process.emitWarning;
    process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
      const code = typeof rest[0] === "object" && rest[0] ? (rest[0] as { code?: string }).code : rest[1];
      if (code === "UNDICI-EHPA") return;
      return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
    }) as typeof process.emitWarning;
    try {
      undici.setGlobalDispatcher(new undici.EnvHttpProxyAgent());
    } finally {
      process.emitWarning = emit;
    }
  } catch {
    // undici missing: fetch goes direct
  }
}

function installHttps(proxyUrl: string): void {
  let proxy: URL;
  try {
    proxy = new URL(proxyUrl);
  } catch {
    return;
  }
  const auth = proxy.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}\r\n`
    : "";
  const agent = https.globalAgent as unknown as { createConnection: (...args: any[]) => any };
  const direct = agent.createConnection.bind(agent);
  agent.createConnection = function (options: tls.ConnectionOptions & { host?: string; port?: number }, callback?: (err: Error | null, socket?: net.Socket) => void): unknown {
    const host = options.host ?? "localhost";
    const port = Number(options.port ?? 443);
    if (!callback || noProxy(host, port)) return direct(options, callback);
    const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const socket = net.connect(Number(proxy.port || 80), proxy.hostname);
    let buffered = Buffer.alloc(0);
    const fail = (err: Error) => {
      socket.destroy();
      callback(err);
    };
    socket.once("error", fail);
    socket.once("connect", () => socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`));
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.off("error", fail);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(buffered.subarray(0, end).toString("latin1"));
      if (!status || status[1] !== "200") return fail(new Error(`proxy refused CONNECT ${authority} (${status?.[1] ?? "bad answer"})`));
      const rest = buffered.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      const secure = tls.connect({ ...options, socket, servername: options.servername ?? (net.isIP(host) ? undefined : host) });
      callback(null, secure);
    };
    socket.on("data", onData);
    return undefined;
  };
}

if (!native) {
  installFetch();
  const proxyUrl = process.env.HTTPS_PROXY ?? process.env.https_proxy;
  if (proxyUrl) installHttps(proxyUrl);
}
