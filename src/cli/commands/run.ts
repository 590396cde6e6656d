import { randomBytes, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { loginCommand, usableConnection } from "../../auth/credentials.js";
import { apiKeyEnvName } from "../../auth/flows/api-key.js";
import { egressSettings, type EgressSettings } from "../../auth/egress.js";
import { DEFAULT_REFRESH_WINDOW_SECONDS } from "../../auth/expiry.js";
import { CredentialMissingError, UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { expandBaseUrl } from "../../providers/validate.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { RunCa } from "../../proxy/ca.js";
import { bypassedHosts, childEnv, loopbackHosts } from "../../proxy/child-env.js";
import { CredentialSource } from "../../proxy/inject.js";
import { definitionRoutes, RouteTable, unroutedReason, type AvailableConnection } from "../../proxy/router.js";
import { privateTempDir, runChild } from "../../proxy/runner.js";
import { startProxy, type RunningProxy } from "../../proxy/server.js";
import type { CommandContext } from "../context.js";
import { fileProblem } from "../../home/files.js";

export interface RunOptions {
  provider?: string[];
  use?: string[];
  resolve?: string[];
  upstreamCa?: string;
  injectLoopbackHttp?: boolean;
}

/** A host in `--resolve`: a name, an IPv4 address, or an IPv6 one in brackets. */
const RESOLVE_HOST = String.raw`\[[0-9a-fA-F:.]+\]|[^:\s[\],]+`;
const RESOLVE = new RegExp(String.raw`^(${RESOLVE_HOST}):(\d{1,5}):(${RESOLVE_HOST})(?::(\d{1,5}))?$`);

/** `--resolve HOST:PORT:ADDRESS` (as in curl); ADDRESS may carry its own port ("127.0.0.1:8443", "[::1]:8443"). */
export function parseResolve(values: string[]): Map<string, { host: string; port: number }> {
  const out = new Map<string, { host: string; port: number }>();
  const hint = "for example --resolve api.openai.com:443:127.0.0.1:8443";
  for (const value of values) {
    const m = RESOLVE.exec(value);
    if (!m) {
      const why = value.includes(",") ? "takes one ADDRESS (curl's list of addresses is not supported)" : "expects HOST:PORT:ADDRESS";
      throw new UsageError(`--resolve ${why}, got ${JSON.stringify(value)}`, { hint });
    }
    const ports = [m[2]!, m[4] ?? m[2]!].map(Number);
    if (ports.some((p) => p < 1 || p > 65535)) throw new UsageError(`--resolve ${JSON.stringify(value)}: a port must be 1 to 65535`, { hint });
    const bare = (host: string) => host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
    out.set(`${bare(m[1]!)}:${ports[0]}`, { host: bare(m[3]!), port: ports[1]! });
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

/** The certificates of the `--upstream-ca` file, each checked. */
function readCa(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read the --upstream-ca file ${JSON.stringify(path)}: ${fileProblem(err, "read", path).reason}`);
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw new UsageError(`the --upstream-ca file ${JSON.stringify(path)} holds no PEM certificate`);
  certs.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch {
      throw new UsageError(`the --upstream-ca file ${JSON.stringify(path)}: certificate ${i + 1} of ${certs.length} is not a valid certificate`);
    }
  });
  return certs.map((c) => c + "\n");
}

/** Commander takes `--` (or the next option) as the value of an option whose value was left out. */
function checkValues(opts: RunOptions): void {
  const given: [string, string[] | undefined][] = [
    ["--provider", opts.provider],
    ["--use", opts.use],
    ["--resolve", opts.resolve],
    ["--upstream-ca", opts.upstreamCa === undefined ? undefined : [opts.upstreamCa]],
  ];
  for (const [option, list] of given) {
    const value = list?.find((v) => v.startsWith("--") || v === "");
    if (value !== undefined) throw new UsageError(`${option} needs a value, got ${value === "" ? "an empty one" : JSON.stringify(value)}`, { hint: `usage: authsome run ${option} VALUE ... -- COMMAND ARGS...` });
  }
}

/** How the start-up line names the user's own proxy: the one for https, and the one for plain http when it is another. */
function egressLine(egress: EgressSettings): string {
  const { https, http } = egress;
  if (https && http && https.display !== http.display) return `, reaching services through ${https.display} (plain http: ${http.display})`;
  const one = https ?? http;
  return one ? `, reaching ${https ? "" : "plain http "}services through ${one.display}` : "";
}

/** The variables a definition reads secrets from at login: the child must not inherit them. */
function secretVariables(def: ProviderDefinition): string[] {
  const names = [def.oauth?.client_secret_env, def.oauth1?.consumer_secret_env, def.oauth1?.access_token_env, def.oauth1?.access_token_secret_env, apiKeyEnvName(def)];
  return names.filter((name): name is string => typeof name === "string" && name !== "");
}

export default async function runCommand(ctx: CommandContext, command: string[], opts: RunOptions): Promise<number> {
  if (command.length === 0 || command[0] === "") throw new UsageError(command.length === 0 ? "nothing to run" : "the command to run is empty", { hint: "usage: authsome run [--provider P]... -- COMMAND ARGS..." });
  checkValues(opts);
  const resolve = parseResolve(opts.resolve ?? []);
  const preferred = parseUse(opts.use ?? []);
  const upstreamCa = opts.upstreamCa !== undefined ? readCa(opts.upstreamCa) : undefined;
  const windowSeconds = ctx.refreshWindowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS;

  // which providers: the ones asked for (each must be connected), else every connected one and
  // those --use names (which must be)
  const entries = await ctx.connections.list();
  const definitions = new Map<string, ProviderDefinition>();
  const wanted = opts.provider ? [...new Set(opts.provider)] : [...new Set([...entries.map((e) => e.provider), ...Object.keys(preferred)])].sort();
  for (const provider of wanted) {
    try {
      definitions.set(provider, ctx.providers.get(provider).definition);
    } catch (err) {
      if (opts.provider || preferred[provider]) throw err;
      ctx.out.warn(`not injecting "${provider}": its definition cannot be loaded`);
    }
  }
  for (const provider of Object.keys(preferred)) {
    if (!definitions.has(provider)) throw new UsageError(`--use names "${provider}", which is not among this run's --provider values`);
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
    if (definitionRoutes(definition).length === 0) {
      ctx.out.warn(`"${provider}" is not injected: ${unroutedReason(definition)}`);
    }
  }
  if (definitions.size === 0 && opts.provider) {
    throw new CredentialMissingError("no connection to inject", { hint: `run \`${loginCommand(opts.provider[0]!, "default", ctx.connections.hintScope)}\`` });
  }

  const injectLoopbackHttp = opts.injectLoopbackHttp === true;
  const routes = new RouteTable({ definitions: [...definitions.values()], connections, preferred, defaults }, (msg) => ctx.out.warn(msg));
  const bypassed = bypassedHosts(ctx.io.env, routes.hostNames);
  for (const host of bypassed) {
    ctx.out.warn(`NO_PROXY covers ${host}: the child's requests to it skip the proxy and carry only the placeholder (take it out of NO_PROXY to inject)`);
  }
  // the user's own proxy: authsome reaches services through it, and the child gets authsome's in its place
  const egress = egressSettings(ctx.io.env);
  for (const { problem, schemes } of egress.unusable) {
    ctx.out.warn(`the proxy in your environment (${problem}) is not used: authsome connects to ${schemes.map((s) => (s === "http" ? "plain http" : s)).join(" and ")} services directly`);
  }
  if (!injectLoopbackHttp) {
    for (const host of loopbackHosts(routes.hostNames).filter((h) => !bypassed.includes(h))) {
      ctx.out.warn(`${host} is a loopback address, which the child reaches without the proxy: its requests to it carry only the placeholder (--inject-loopback-http sends loopback through the proxy)`);
    }
  }

  const placeholders: string[] = [];
  const remove: string[] = [];
  for (const def of definitions.values()) {
    placeholders.push(...Object.values(def.export?.env ?? {}));
    remove.push(...secretVariables(def));
  }
  // a provider that is connected but left out of this run: its variables are the user's own to pass
  // on (a key of their own for a blind tunnel), but the child holding them is said out loud
  for (const provider of new Set(entries.map((e) => e.provider))) {
    if (definitions.has(provider)) continue;
    let def: ProviderDefinition;
    try {
      def = ctx.providers.get(provider).definition;
    } catch {
      continue; // reported above when it mattered; nothing is known of its variables
    }
    const present = [...new Set([...secretVariables(def), ...Object.values(def.export?.env ?? {})])].filter((name) => ctx.io.env[name] !== undefined);
    if (present.length === 0) continue;
    ctx.out.warn(`${present.join(", ")} ${present.length === 1 ? "reaches" : "reach"} the child as set in your environment: "${provider}" is connected but not injected in this run (add --provider ${provider} to inject it instead)`);
  }

  const temp = privateTempDir();
  const ca = new RunCa();
  const token = randomBytes(24).toString("hex");
  const credentials = new CredentialSource(ctx.connections, definitions, windowSeconds);
  let proxy: RunningProxy | undefined;
  try {
    proxy = await startProxy({ token, ca, routes, credentials, resolve, injectLoopbackHttp, egress, ...(upstreamCa ? { upstreamCa } : {}) });
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
    const through = egressLine(egress);
    ctx.out.info(`authsome run: ${injected.length ? `injecting ${injected.join(", ")}` : "no provider to inject"} (proxy 127.0.0.1:${proxy.port}${through})`);
    audit(ctx.home, "run", { profile: ctx.profile, providers: injected, command: basename(command[0]!) });
    return await runChild(command, env);
  } finally {
    await proxy?.close();
    temp.remove();
  }
}
