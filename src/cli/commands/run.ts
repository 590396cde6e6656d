import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { usableConnection } from "../../auth/credentials.js";
import { apiKeyEnvName } from "../../auth/flows/api-key.js";
import { DEFAULT_REFRESH_WINDOW_SECONDS } from "../../auth/expiry.js";
import { CredentialMissingError, UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { expandBaseUrl } from "../../providers/validate.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { RunCa } from "../../proxy/ca.js";
import { childEnv } from "../../proxy/child-env.js";
import { CredentialSource } from "../../proxy/inject.js";
import { definitionRoutes, RouteTable, splitHostPort, type AvailableConnection } from "../../proxy/router.js";
import { ChildStartError, privateTempDir, runChild } from "../../proxy/runner.js";
import { startProxy } from "../../proxy/server.js";
import type { CommandContext } from "../context.js";

export interface RunOptions {
  provider?: string[];
  use?: string[];
  resolve?: string[];
  upstreamCa?: string;
  injectLoopbackHttp?: boolean;
}

/** `--resolve HOST:PORT:ADDRESS` (as in curl); ADDRESS may carry its own port ("127.0.0.1:8443", "[::1]:8443"). */
export function parseResolve(values: string[]): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  for (const value of values) {
    const m = /^([^:\s]+):(\d{1,5}):(\[[0-9a-fA-F:.]+\](?::\d{1,5})?|[^:\s[\]]+(?::\d{1,5})?)$/.exec(value);
    if (!m) throw new UsageError(`--resolve expects HOST:PORT:ADDRESS, got ${JSON.stringify(value)}`, { hint: "for example --resolve api.openai.com:443:127.0.0.1:8443" });
    const port = Number(m[2]);
    const to = splitHostPort(m[3]!, port);
    out.set(`${m[1]!.toLowerCase()}:${port}`, to);
  }
  return out;
}

function parseUse(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const m = /^([^=\s]+)=([^=\s]+)$/.exec(value);
    if (!m) throw new UsageError(`--use expects PROVIDER=CONNECTION, got ${JSON.stringify(value)}`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

function readCa(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new UsageError(`cannot read the --upstream-ca file ${JSON.stringify(path)}`);
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new UsageError(`the --upstream-ca file ${JSON.stringify(path)} holds no PEM certificate`);
  return certs.map((c) => c + "\n");
}

/** The variables a definition reads secrets from at login: the child must not inherit them. */
function secretVariables(def: ProviderDefinition): string[] {
  const names = [def.oauth?.client_secret_env, def.oauth1?.consumer_secret_env, def.oauth1?.access_token_env, def.oauth1?.access_token_secret_env, apiKeyEnvName(def)];
  return names.filter((name): name is string => typeof name === "string" && name !== "");
}

export default async function runCommand(ctx: CommandContext, command: string[], opts: RunOptions): Promise<number> {
  if (command.length === 0) throw new UsageError("nothing to run", { hint: "usage: authsome run [--provider P]... -- COMMAND ARGS..." });
  const resolve = parseResolve(opts.resolve ?? []);
  const preferred = parseUse(opts.use ?? []);
  const upstreamCa = opts.upstreamCa ? readCa(opts.upstreamCa) : undefined;
  const windowSeconds = ctx.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS;

  // which providers: the ones asked for (each must be connected), else every connected one
  const entries = await ctx.connections.list();
  const definitions = new Map<string, ProviderDefinition>();
  const wanted = opts.provider ? [...new Set(opts.provider)] : [...new Set(entries.map((e) => e.provider))].sort();
  for (const provider of wanted) {
    try {
      definitions.set(provider, ctx.providers.get(provider).definition);
    } catch (err) {
      if (opts.provider) throw err;
      ctx.out.warn(`not injecting "${provider}": its definition cannot be loaded`);
    }
  }
  for (const provider of Object.keys(preferred)) {
    if (!definitions.has(provider)) throw new UsageError(`--use names "${provider}", which is not injected in this run`);
  }

  const connections: AvailableConnection[] = [];
  const defaults: Record<string, string | null> = {};
  for (const [provider, definition] of [...definitions]) {
    const mine = entries.filter((e) => e.provider === provider && e.record);
    const meta = await ctx.connections.metadata(provider);
    defaults[provider] = meta?.default_connection ?? null;
    if (opts.provider || preferred[provider]) {
      // asked for by name: a missing or dead connection stops the run before the child starts
      await usableConnection(ctx.connections, definition, preferred[provider], { windowSeconds });
    }
    if (mine.length === 0) {
      definitions.delete(provider);
      continue;
    }
    for (const e of mine) connections.push({ provider, connection: e.connection, authType: e.record!.auth_type });
    const chosen = mine.find((e) => e.connection === (preferred[provider] ?? defaults[provider])) ?? mine[0]!;
    definitions.set(provider, expandBaseUrl(definition, chosen.record!.base_url ?? undefined));
    if (definitionRoutes(definition).length === 0) ctx.out.warn(`"${provider}" has no routes or host_url: its requests are not injected`);
  }
  if (definitions.size === 0 && opts.provider) {
    throw new CredentialMissingError("no connection to inject", { hint: `run \`authsome login ${opts.provider[0]}\`` });
  }

  const routes = new RouteTable({ definitions: [...definitions.values()], connections, preferred, defaults }, (msg) => ctx.out.warn(msg));
  const ca = new RunCa();
  const token = randomBytes(24).toString("hex");
  const credentials = new CredentialSource(ctx.connections, definitions, windowSeconds);
  const injectLoopbackHttp = opts.injectLoopbackHttp === true;
  const proxy = await startProxy({ token, ca, routes, credentials, resolve, injectLoopbackHttp, ...(upstreamCa ? { upstreamCa } : {}) });
  const temp = privateTempDir();
  try {
    const placeholders: string[] = [];
    const remove: string[] = [];
    for (const def of definitions.values()) {
      placeholders.push(...Object.values(def.export?.env ?? {}));
      remove.push(...secretVariables(def));
    }
    const env = childEnv({
      base: ctx.io.env,
      proxyUrl: `http://authsome:${token}@127.0.0.1:${proxy.port}`,
      dir: temp.dir,
      caPem: ca.certPem,
      placeholders,
      remove,
      loopbackThroughProxy: injectLoopbackHttp,
    });
    const injected = routes.providers;
    ctx.out.info(`authsome run: ${injected.length ? `injecting ${injected.join(", ")}` : "no provider to inject"} (proxy 127.0.0.1:${proxy.port})`);
    audit(ctx.home, "run", { profile: ctx.profile, providers: injected, command: basename(command[0]!) });
    try {
      return await runChild(command, env);
    } catch (err) {
      if (err instanceof ChildStartError) {
        ctx.out.error(err);
        return err.status;
      }
      throw err;
    }
  } finally {
    await proxy.close();
    temp.remove();
  }
}
