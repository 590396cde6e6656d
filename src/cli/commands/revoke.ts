import { revokeProvider } from "../../auth/signout.js";
import type { CommandContext } from "../context.js";

/** Every connection of the provider is revoked remotely (best effort) and forgotten, with its client credentials. */
export default async function revoke(ctx: CommandContext, provider: string): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const r = await revokeProvider(ctx.home, ctx.connections, definition);
  for (const w of r.warnings) ctx.out.warn(w);
  ctx.out.result(r, () => []);
  ctx.out.success(`Revoked ${provider}: ${r.connections.length} connection(s)${r.client_credentials ? " and the client credentials" : ""} removed.`);
}
