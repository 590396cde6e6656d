import { CredentialMissingError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { usableConnection } from "../../auth/credentials.js";
import { exportVariables, formatExport, type ExportFormat } from "../../auth/export.js";
import type { CommandContext } from "../context.js";

export default async function exportCommand(
  ctx: CommandContext,
  provider: string,
  opts: { connection?: string; format: ExportFormat },
): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const record = await usableConnection(ctx.connections, definition, opts.connection, { windowSeconds: ctx.refreshWindowSeconds });
  const vars = exportVariables(definition, record);
  if (vars.length === 0) {
    throw new CredentialMissingError(`the connection "${record.connection_name}" of "${provider}" has nothing to export`, {
      hint: `the definition maps ${Object.keys(definition.export?.env ?? {}).join(", ") || "no fields"}; see \`authsome inspect ${provider}\``,
    });
  }
  audit(ctx.home, "export", { provider, connection: record.connection_name, profile: ctx.profile, format: opts.format, variables: vars.map((v) => v.name) });
  // --json means the json format: one document on stdout
  ctx.out.raw(formatExport(vars, ctx.out.json ? "json" : opts.format));
}
