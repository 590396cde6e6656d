import { removeStored } from "../../auth/remove.js";
import type { CommandContext } from "../context.js";

/**
 * Local deletion only, no network. With --connection: that connection. Without: all of the
 * provider's connections, its client credentials and its registered definition file (unless another
 * profile still uses it).
 */
export default async function remove(ctx: CommandContext, provider: string, opts: { connection?: string }): Promise<void> {
  const r = await removeStored(ctx.home, ctx.connections, ctx.providers, provider, opts.connection);
  ctx.out.result(r, () => []);
  if (opts.connection !== undefined) {
    ctx.out.success(`Removed connection "${r.connections[0]}" of ${provider}.`);
    return;
  }
  const parts = [`${r.connections.length} connection(s)`, ...(r.client_credentials ? ["client credentials"] : []), ...(r.definition ? ["registered definition"] : [])];
  const kept = r.definition_kept_for ? ` Its definition stays: profile(s) ${r.definition_kept_for.join(", ")} still use it.` : "";
  ctx.out.success(`Removed ${provider}: ${parts.join(", ")}.${kept}`);
}
