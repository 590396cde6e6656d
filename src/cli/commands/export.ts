import { exportConnection, type ExportFormat } from "../../auth/export.js";
import type { CommandContext } from "../context.js";

export default async function exportCommand(
  ctx: CommandContext,
  provider: string,
  opts: { connection?: string; format: ExportFormat },
): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  // --json means the json format: one document on stdout
  const format = ctx.out.json ? "json" : opts.format;
  ctx.out.raw(await exportConnection(ctx.home, ctx.connections, definition, { connection: opts.connection, format, windowSeconds: ctx.refreshWindowSeconds }));
}
