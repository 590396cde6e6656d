import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import type { CommandContext } from "../context.js";

/** Every connection of the provider, and its client credentials, are forgotten. */
export default async function revoke(ctx: CommandContext, provider: string): Promise<void> {
  ctx.providers.get(provider);
  const entries = await ctx.connections.list(provider);
  for (const e of entries) await ctx.connections.delete(provider, e.connection);
  const client = await ctx.connections.deleteClient(provider);
  if (entries.length === 0 && !client) {
    throw new CredentialMissingError(`nothing stored for provider "${provider}" in profile "${ctx.profile}"`);
  }
  const connections = entries.map((e) => e.connection);
  audit(ctx.home, "revoke", { provider, profile: ctx.profile, connections, client_credentials: client });
  ctx.out.result({ status: "revoked", provider, profile: ctx.profile, connections, client_credentials: client }, () => []);
  ctx.out.success(`Revoked ${provider}: ${connections.length} connection(s)${client ? " and the client credentials" : ""} removed.`);
}
