import { logoutConnection } from "../../auth/signout.js";
import type { CommandContext } from "../context.js";

/** Revokes the connection's tokens at the provider (best effort), then deletes it locally. */
export default async function logout(ctx: CommandContext, provider: string, opts: { connection?: string }): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const r = await logoutConnection(ctx.home, ctx.connections, definition, opts.connection);
  for (const w of r.warnings) ctx.out.warn(w);
  ctx.out.result(r, () => []);
  ctx.out.success(`Logged out of ${provider} (connection "${r.connection}")${r.revoked_remotely ? ", tokens revoked at the provider" : ""}.`);
}
