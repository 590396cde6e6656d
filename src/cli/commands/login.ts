import { UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import { apiKeyLogin } from "../../auth/flows/api-key.js";
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
}

export default async function login(ctx: CommandContext, provider: string, opts: LoginOptions): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const connection = assertName("connection", opts.connection ?? "default");
  const allowed: FlowType[] = [definition.flow, ...(definition.flows ?? [])];
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

  if (flow !== "api_key") {
    throw new UsageError(`the ${flow} flow is not available in this version`, { hint: "API-key providers can log in now" });
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
