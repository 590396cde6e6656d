import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import type { CommandContext } from "../context.js";

/**
 * Local deletion only, no network. With --connection: that connection. Without: all of the
 * provider's connections, its client credentials and its registered definition file.
 */
export default async function remove(ctx: CommandContext, provider: string, opts: { connection?: string }): Promise<void> {
  assertName("provider", provider);
  if (opts.connection !== undefined) {
    const name = assertName("connection", opts.connection);
    if (!(await ctx.connections.delete(provider, name))) {
      throw new CredentialMissingError(`no connection "${name}" for provider "${provider}"`, { hint: "`authsome list` shows the connections" });
    }
    audit(ctx.home, "remove", { provider, connection: name, profile: ctx.profile });
    ctx.out.result({ status: "removed", provider, profile: ctx.profile, connections: [name], client_credentials: false, definition: false }, () => []);
    ctx.out.success(`Removed connection "${name}" of ${provider}.`);
    return;
  }
  const entries = await ctx.connections.list(provider);
  for (const e of entries) await ctx.connections.delete(provider, e.connection);
  const client = await ctx.connections.deleteClient(provider);
  const definition = ctx.providers.unregister(provider);
  if (entries.length === 0 && !client && !definition) {
    throw new CredentialMissingError(`nothing stored for provider "${provider}" in profile "${ctx.profile}"`, {
      hint: "`authsome list` shows what is stored",
    });
  }
  const connections = entries.map((e) => e.connection);
  audit(ctx.home, "remove", { provider, profile: ctx.profile, connections, client_credentials: client, definition });
  ctx.out.result({ status: "removed", provider, profile: ctx.profile, connections, client_credentials: client, definition }, () => []);
  const parts = [`${connections.length} connection(s)`, ...(client ? ["client credentials"] : []), ...(definition ? ["registered definition"] : [])];
  ctx.out.success(`Removed ${provider}: ${parts.join(", ")}.`);
}
