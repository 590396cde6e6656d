import { CredentialMissingError, UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { usableConnection } from "../../auth/credentials.js";
import { fieldValue } from "../../auth/export.js";
import { redactSecrets, SECRET_FIELDS } from "../../vault/records.js";
import type { CommandContext } from "../context.js";

/** `get` is what agents call over and over: it reads one record and prints it, nothing more. */
export default async function get(
  ctx: CommandContext,
  provider: string,
  opts: { connection?: string; field?: string; showSecret?: boolean },
): Promise<void> {
  const secretField = opts.field !== undefined && SECRET_FIELDS.has(opts.field.split(".")[0]!);
  if (opts.showSecret && opts.field !== undefined && !secretField) {
    throw new UsageError(`--show-secret applies to secret fields only, and "${opts.field}" is not one`, {
      hint: `secret fields: ${[...SECRET_FIELDS].join(", ")}`,
    });
  }
  if (secretField && !opts.showSecret) {
    throw new UsageError(`"${opts.field}" is a secret`, { hint: "add --show-secret to print it" });
  }
  const { definition } = ctx.providers.get(provider); // an unknown provider is exit 3, before the store is touched
  // only a secret read checks and refreshes the credential; showing metadata never calls the provider
  const handsOutCredential = secretField || Boolean(opts.showSecret);
  const record = await usableConnection(ctx.connections, definition, opts.connection, { windowSeconds: ctx.refreshWindowSeconds, handsOutCredential });
  const name = record.connection_name;

  if (opts.field !== undefined) {
    const value = fieldValue(record, opts.field);
    if (value === undefined || value === null || value === "") {
      throw new CredentialMissingError(`the connection "${name}" of "${provider}" has no ${opts.field}`, {
        hint: secretField ? `it is a ${record.auth_type} connection; its secret fields: ${[...SECRET_FIELDS].filter((f) => record[f]).join(", ") || "none"}` : undefined,
      });
    }
    if (secretField) audit(ctx.home, "secret_read", { provider, connection: name, profile: ctx.profile, field: opts.field });
    if (ctx.out.json) ctx.out.result({ [opts.field]: value }, () => "");
    else ctx.out.raw(typeof value === "object" ? JSON.stringify(value) : String(value));
    return;
  }

  if (opts.showSecret) audit(ctx.home, "secret_read", { provider, connection: name, profile: ctx.profile, field: "*" });
  const shown: Record<string, unknown> = opts.showSecret ? record : redactSecrets(record);
  ctx.out.result(shown, () =>
    Object.entries(shown).map(([k, v]) => `${k}: ${v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)}`),
  );
}
