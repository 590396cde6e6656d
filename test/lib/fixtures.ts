// Shared set-up for the library tests: a loopback HTTP server that records what it receives,
// and a home whose "localidp" provider routes to it and to the oidc peer's userinfo endpoint.
import { after, before } from "node:test";
import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { freePort, ROOT } from "../helpers.js";
import { freshConnection, openConnections, PROVIDER } from "../auth/oidc-home.js";
import { homeWithProvider } from "../auth/login-fixtures.js";
import type { ConnectionRecord } from "../../src/vault/records.js";

export { PROVIDER };

export interface RecordedRequest {
  method: string;
  url: string;
  host: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface Recorder {
  port: number;
  origin: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export type RecorderHandler = (req: RecordedRequest, res: ServerResponse) => void;

/** An HTTP server on 127.0.0.1 that records every request; answers 200 {"ok":true} unless a handler answers. */
export async function startRecorder(handler?: RecorderHandler): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => (body += d));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", url: req.url ?? "", host: req.headers.host ?? "", headers: req.headers, body };
      requests.push(recorded);
      if (handler) handler(recorded, res);
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface LibHomeOptions {
  /** Extra routes besides the oidc peer's /me. */
  routes?: Array<Record<string, unknown>>;
  /** Store a logged-in connection (default true); its token is expired unless `valid`. */
  connected?: boolean;
  valid?: boolean;
}

/** A home with "localidp" (the oidc peer), its client, and (by default) a connection with an expired token. */
export async function libHome(server: OidcServer, opts: LibHomeOptions = {}): Promise<{ home: string; record?: ConnectionRecord }> {
  const home = homeWithProvider(
    server,
    { scopes: ["openid", "offline_access", "profile", "email"], rotates_refresh_token: true },
    {
      export: { env: { access_token: "LOCALIDP_ACCESS_TOKEN" } },
      routes: [{ host: `127.0.0.1:${server.port}`, path_prefix: "/me" }, ...(opts.routes ?? [])],
    },
  );
  if (opts.connected === false) return { home };
  const record = await freshConnection(server);
  if (opts.valid) record.expires_at = new Date(Date.now() + 3600_000).toISOString();
  const connections = openConnections(home);
  await connections.saveClient(PROVIDER, { client_id: CLIENTS.basic.clientId, client_secret: CLIENTS.basic.clientSecret });
  await connections.save(record);
  connections.vault.close();
  return { home, record };
}

export interface NodeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a node script (a .mjs or, through tsx, a .ts) in a child with the given env. */
export function runNode(args: string[], env: Record<string, string | undefined>, opts: { tsx?: boolean; onStdout?: (chunk: string) => void } = {}): Promise<NodeResult> {
  const full: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete full.AUTHSOME_PROFILE;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete full[k];
    else full[k] = v;
  }
  const argv = opts.tsx ? ["--import", "tsx", ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: ROOT, env: full, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      opts.onStdout?.(d);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * The oidc peer for the calling test file, started before its tests and closed after them, expecting
 * logins on a callback port of the file's own (other login tests use the default one, possibly at
 * the same time). Its fields are set once the file's tests start.
 */
export function oidcWithOwnCallback(): { server: OidcServer; port: number; redirect: string } {
  const peer = {} as { server: OidcServer; port: number; redirect: string };
  before(async () => {
    peer.port = await freePort();
    peer.redirect = `http://127.0.0.1:${peer.port}/auth/callback/oauth`;
    peer.server = await startOidcServer({ redirectUris: [peer.redirect] });
  });
  after(async () => {
    await peer.server.close();
  });
  return peer;
}
