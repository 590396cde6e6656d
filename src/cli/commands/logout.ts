import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import type { CommandContext } from "../context.js";

export default async function logout(ctx: CommandContext, provider: string, opts: { connection?: string }): Promise<void> {
  ctx.providers.get(provider);
  const name = await ctx.connections.resolveName(provider, opts.connection);
  const removed = await ctx.connections.delete(provider, name);
  if (!removed) {
    throw new CredentialMissingError(`no connection "${name}" for provider "${provider}"`, { hint: "`authsome list` shows the connections" });
  }
  audit(ctx.home, "logout", { provider, connection: name, profile: ctx.profile });
  ctx.out.result({ status: "logged_out", provider, connection: name, profile: ctx.profile }, () => []);
  ctx.out.success(`Logged out of ${provider} (connection "${name}").`);
}
