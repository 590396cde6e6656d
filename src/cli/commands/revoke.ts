import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { revokeConnectionRemotely } from "../../auth/revoke.js";
import type { CommandContext } from "../context.js";

/** Every connection of the provider is revoked remotely (best effort) and forgotten, with its client credentials. */
export default async function revoke(ctx: CommandContext, provider: string): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const entries = await ctx.connections.list(provider);
  const warnings: string[] = [];
  let revokedRemotely = false;
  for (const e of entries) {
    if (e.record) {
      // The client credentials are still stored here: they authenticate the revocation requests.
      const remote = await revokeConnectionRemotely(ctx.connections, definition, e.record);
      revokedRemotely ||= remote.revoked;
      warnings.push(...remote.warnings);
    } else {
      warnings.push(`the connection "${e.connection}" could not be read, so it was only deleted locally: ${e.error}`);
    }
    await ctx.connections.delete(provider, e.connection);
  }
  const client = await ctx.connections.deleteClient(provider);
  if (entries.length === 0 && !client) {
    throw new CredentialMissingError(`nothing stored for provider "${provider}" in profile "${ctx.profile}"`);
  }
  for (const w of warnings) ctx.out.warn(w);
  const connections = entries.map((e) => e.connection);
  audit(ctx.home, "revoke", { provider, profile: ctx.profile, connections, client_credentials: client, revoked_remotely: revokedRemotely, warnings: warnings.length });
  ctx.out.result(
    { status: "revoked", provider, profile: ctx.profile, connections, client_credentials: client, revoked_remotely: revokedRemotely, warnings },
    () => [],
  );
  ctx.out.success(`Revoked ${provider}: ${connections.length} connection(s)${client ? " and the client credentials" : ""} removed.`);
}
