import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { revokeConnectionRemotely, type RemoteRevocation } from "../../auth/revoke.js";
import type { ConnectionRecord } from "../../vault/records.js";
import type { CommandContext } from "../context.js";

/** Revokes the connection's tokens at the provider (best effort), then deletes it locally. */
export default async function logout(ctx: CommandContext, provider: string, opts: { connection?: string }): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const name = await ctx.connections.resolveName(provider, opts.connection);
  let record: ConnectionRecord | undefined;
  let remote: RemoteRevocation = { revoked: false, warnings: [] };
  try {
    record = await ctx.connections.get(provider, name);
  } catch (err) {
    // An unreadable record cannot be revoked remotely, but must still be deletable.
    remote.warnings.push(`the connection "${name}" could not be read, so it was only deleted locally: ${(err as Error).message}`);
  }
  if (record) remote = await revokeConnectionRemotely(ctx.connections, definition, record);
  const removed = await ctx.connections.delete(provider, name);
  if (!removed) {
    throw new CredentialMissingError(`no connection "${name}" for provider "${provider}"`, { hint: "`authsome list` shows the connections" });
  }
  for (const w of remote.warnings) ctx.out.warn(w);
  audit(ctx.home, "logout", { provider, connection: name, profile: ctx.profile, revoked_remotely: remote.revoked, warnings: remote.warnings.length });
  ctx.out.result({ status: "logged_out", provider, connection: name, profile: ctx.profile, revoked_remotely: remote.revoked, warnings: remote.warnings }, () => []);
  ctx.out.success(`Logged out of ${provider} (connection "${name}")${remote.revoked ? ", tokens revoked at the provider" : ""}.`);
}
