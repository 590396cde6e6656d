import { UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import { apiKeyLogin } from "../../auth/flows/api-key.js";
import { deviceLogin } from "../../auth/flows/device.js";
import { fetchIdentity, oauthConnection, resolveClient } from "../../auth/flows/oauth-login.js";
import { pkceLogin } from "../../auth/flows/pkce.js";
import { DEFAULT_CALLBACK_PORT } from "../../input/callback-server.js";
import { expandBaseUrl } from "../../providers/validate.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { canPrompt, readHidden } from "../../input/prompt.js";
import type { FlowType } from "../../providers/schema.js";
import type { CommandContext } from "../context.js";

export interface LoginOptions {
  connection?: string;
  flow?: string;
  scopes?: string;
  baseUrl?: string;
  clientId?: string;
  force?: boolean;
  port?: string;
  timeout?: string;
}

export default async function login(ctx: CommandContext, provider: string, opts: LoginOptions): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const connection = assertName("connection", opts.connection ?? "default");
  const allowed: FlowType[] = [definition.flow, ...(definition.flows ?? [])];
  // A device endpoint is itself a declaration that the device flow works.
  if (definition.oauth?.supports_device_flow || definition.oauth?.device_authorization_url) allowed.push("device_code");
  const flow = (opts.flow ?? definition.flow) as FlowType;
  if (!allowed.includes(flow)) {
    throw new UsageError(`provider "${provider}" does not support the ${opts.flow} flow`, { hint: `supported: ${allowed.join(", ")}` });
  }
  // a damaged record can be replaced with --force, and is reported otherwise
  const existing = await ctx.connections.get(provider, connection).catch((err: unknown) => {
    if (opts.force) return undefined;
    throw err;
  });
  if (existing?.status === "connected" && !opts.force) {
    throw new UsageError(`"${provider}" already has a connected connection "${connection}"`, {
      hint: `pass --force to replace it, or --connection NAME to add another`,
    });
  }
  ctx.home.prepareProfileForWrite(ctx.profile);

  if (flow === "pkce" || flow === "device_code") return oauthLogin(ctx, definition, connection, flow, opts);
  if (flow !== "api_key") {
    throw new UsageError(`the ${flow} flow is not available in this version`, { hint: "use --flow pkce or --flow device_code where the provider allows it" });
  }
  const ask = canPrompt(ctx.io)
    ? async (label: string, check: (v: string) => string | undefined) => {
        for (;;) {
          const value = await readHidden(ctx.io, `${label}: `);
          const problem = check(value.trim());
          if (!problem) return value;
          ctx.out.warn(problem);
        }
      }
    : undefined;
  const record = await apiKeyLogin(definition, { profile: ctx.profile, connection }, { env: ctx.io.env, ask });
  await ctx.connections.save(record);
  audit(ctx.home, "login", { provider, connection, profile: ctx.profile, flow });
  ctx.out.result({ status: "connected", provider, connection, profile: ctx.profile, flow }, () => []);
  ctx.out.success(`Logged in to ${definition.display_name} (connection "${connection}").`);
}

async function oauthLogin(ctx: CommandContext, base: ProviderDefinition, connection: string, flow: "pkce" | "device_code", opts: LoginOptions): Promise<void> {
  const definition = expandBaseUrl(base, opts.baseUrl);
  if (!definition.oauth) throw new UsageError(`provider "${definition.name}" has no oauth section`);
  const provider = definition.name;
  const stored = await ctx.connections.client(provider).catch(() => undefined);
  const client = await resolveClient(definition, {
    clientId: opts.clientId,
    env: ctx.io.env,
    stored,
    askSecret: canPrompt(ctx.io) ? () => readHidden(ctx.io, "Client secret (leave empty for a public client): ") : undefined,
  });
  const scopes = opts.scopes !== undefined ? opts.scopes.split(",").map((s) => s.trim()).filter(Boolean) : (definition.oauth.scopes ?? []);
  const timeoutMs = positive(opts.timeout, "--timeout", 300) * 1000;
  const say = (message: string) => ctx.io.stderr.write(message + "\n");

  const token =
    flow === "pkce"
      ? await pkceLogin(definition, {
          client,
          scopes,
          port: positive(opts.port ?? ctx.io.env.AUTHSOME_CALLBACK_PORT, "--port", DEFAULT_CALLBACK_PORT),
          timeoutMs,
          env: ctx.io.env,
          stdin: ctx.io.stdin,
          say,
        })
      : await deviceLogin(definition, { client, scopes, timeoutMs, env: ctx.io.env, say });

  const account = await fetchIdentity(definition, token).catch((err: unknown) => {
    ctx.out.warn(`could not read the account identity: ${err instanceof Error ? err.message : "unknown error"}`);
    return undefined;
  });
  const record = oauthConnection(definition, { profile: ctx.profile, connection }, token, scopes, account);
  await ctx.connections.save(record);
  await ctx.connections.saveClient(provider, { client_id: client.clientId, client_secret: client.clientSecret ?? null });
  audit(ctx.home, "login", { provider, connection, profile: ctx.profile, flow, account: record.account.id });
  ctx.out.result(
    { status: "connected", provider, connection, profile: ctx.profile, flow, account: record.account, scopes: record.scopes, expires_at: record.expires_at },
    () => [],
  );
  const who = record.account.label ?? record.account.id;
  ctx.out.success(`Logged in to ${definition.display_name}${who ? ` as ${who}` : ""} (connection "${connection}").`);
}

function positive(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535 * (option === "--port" ? 1 : 1000)) {
    throw new UsageError(`${option} must be a positive whole number, not ${JSON.stringify(value)}`);
  }
  return n;
}
