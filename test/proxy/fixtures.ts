// A home with connections of every kind the proxy injects, and a TLS peer that stands in for
// the services (real host names mapped to 127.0.0.1 with --resolve, its CA via --upstream-ca).
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { newConnection } from "../../src/vault/records.js";
import { Vault } from "../../src/vault/store.js";
import { cliAsync, emptyHome, tempDir, type CliResult } from "../helpers.js";
import { startTlsPeer, type TlsPeer, type TlsPeerOptions } from "../peers/tls-server.js";

export const SECRETS = {
  openai: "sk-proxytest" + "A".repeat(24),
  openaiWork: "sk-proxywork" + "B".repeat(24),
  xBearer: "x-oauth2-access-token-SECRET",
  xRefresh: "x-oauth2-refresh-token-SECRET",
  xOauth1Token: "123-oauth1-token-SECRET",
  xOauth1Secret: "oauth1-token-secret-SECRET",
  xConsumerKey: "consumer-key-not-secret",
  xConsumerSecret: "consumer-secret-SECRET",
  github: "gho_github-token-SECRET",
  gitlocal: "gitlocal-key-SECRET",
};

export const HOSTS = ["api.openai.com", "api.openai.com.evil.test", "other.test", "api.x.com", "upload.x.com", "api.github.com", "git.test"];

/** A bare repository with one commit, served by the peer at /git/repo.git. */
export function gitRepository(): string {
  const root = tempDir("authsome-git-");
  const work = join(root, "work");
  const git = (args: string[], cwd = root) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main", ...args], { cwd, stdio: "ignore" });
  git(["init", "work"]);
  writeFileSync(join(work, "README"), "hello through the proxy\n");
  git(["add", "README"], work);
  git(["commit", "-m", "first"], work);
  git(["clone", "--bare", "work", "repo.git"]);
  return root;
}

export async function proxyHome(): Promise<string> {
  const home = emptyHome();
  mkdirSync(join(home, "providers"), { recursive: true, mode: 0o700 });
  writeFileSync(
    join(home, "providers", "gitlocal.json"),
    JSON.stringify({
      schema_version: 1,
      name: "gitlocal",
      display_name: "Local git",
      auth_type: "api_key",
      flow: "api_key",
      routes: [{ host: "git.test" }],
      api_key: { header_name: "Authorization", header_prefix: "Basic", value_format: "basic_password" },
      export: { env: { api_key: "GITLOCAL_TOKEN" } },
    }),
  );
  const connections = new Connections(new Vault(new Home(home), "default"));
  const base = { profile: "default", connection_name: "default" };
  await connections.save(newConnection({ ...base, provider: "openai", auth_type: "api_key", api_key: SECRETS.openai }));
  await connections.save(newConnection({ ...base, provider: "openai", connection_name: "work", auth_type: "api_key", api_key: SECRETS.openaiWork }));
  await connections.save(newConnection({ ...base, provider: "x", auth_type: "oauth2", access_token: SECRETS.xBearer, refresh_token: SECRETS.xRefresh, expires_at: new Date(Date.now() + 3600_000).toISOString() }));
  await connections.save(newConnection({ ...base, provider: "x", connection_name: "v1", auth_type: "oauth1", access_token: SECRETS.xOauth1Token, token_secret: SECRETS.xOauth1Secret }));
  await connections.saveClient("x", { consumer_key: SECRETS.xConsumerKey, consumer_secret: SECRETS.xConsumerSecret });
  await connections.save(newConnection({ ...base, provider: "github", auth_type: "oauth2", access_token: SECRETS.github }));
  await connections.save(newConnection({ ...base, provider: "gitlocal", auth_type: "api_key", api_key: SECRETS.gitlocal }));
  connections.vault.close();
  return home;
}

export interface ProxyFixture {
  peer: TlsPeer;
  home: string;
  /** `authsome run <options> -- <command>` against the peer. */
  run(command: string[], opts?: { options?: string[]; env?: Record<string, string | undefined> }): Promise<CliResult>;
  resolveArgs: string[];
}

export async function proxyFixture(peerOptions: Partial<TlsPeerOptions> = {}, home?: string): Promise<ProxyFixture> {
  const peer = await startTlsPeer({ hosts: HOSTS, ...peerOptions });
  const h = home ?? (await proxyHome());
  const resolveArgs = HOSTS.flatMap((host) => ["--resolve", `${host}:443:127.0.0.1:${peer.port}`]);
  return {
    peer,
    home: h,
    resolveArgs,
    run: (command, opts = {}) =>
      cliAsync(["run", ...resolveArgs, "--upstream-ca", peer.caFile, ...(opts.options ?? []), "--", ...command], { home: h, env: opts.env ?? {} }),
  };
}

/** The one request the peer saw at this path. */
export function seen(peer: TlsPeer, path: string) {
  const hits = peer.requests.filter((r) => r.path === path);
  if (hits.length !== 1) throw new Error(`expected one request at ${path}, saw ${hits.length} (of ${peer.requests.map((r) => r.path).join(", ")})`);
  return hits[0]!;
}
