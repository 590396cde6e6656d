import { UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { freshConnection, storedConnection } from "../../auth/credentials.js";
import { checkFieldName, checkFieldOf, CONNECTION_SECRET_FIELDS, isEmpty, missingFieldError } from "../../auth/connection-fields.js";
import { fieldValue } from "../../auth/export.js";
import { redactSecrets } from "../../vault/records.js";
import type { CommandContext } from "../context.js";

/** `get` is what agents call over and over: it reads one record and prints it, nothing more. */
export default async function get(
  ctx: CommandContext,
  provider: string,
  opts: { connection?: string; field?: string; showSecret?: boolean },
): Promise<void> {
  const { field } = opts;
  if (field !== undefined) checkFieldName(field);
  const secretField = field !== undefined && CONNECTION_SECRET_FIELDS.has(field);
  if (opts.showSecret && field !== undefined && !secretField) {
    throw new UsageError(`--show-secret applies to secret fields only, and "${field}" is not one`, {
      hint: `secret fields: ${[...CONNECTION_SECRET_FIELDS].join(", ")}`,
    });
  }
  if (secretField && !opts.showSecret) {
    throw new UsageError(`"${field}" is a secret`, { hint: "add --show-secret to print it" });
  }
  const { definition } = ctx.providers.get(provider); // an unknown provider is exit 3, before the store is touched
  const stored = await storedConnection(ctx.connections, provider, opts.connection);
  // the field is checked before any refresh: a field the connection cannot hold never calls the provider
  if (field !== undefined) checkFieldOf(stored, field);
  // only a secret read checks and refreshes the credential; showing metadata never calls the provider
  const handsOutCredential = secretField || Boolean(opts.showSecret);
  const record = handsOutCredential ? await freshConnection(ctx.connections, definition, stored, { windowSeconds: ctx.refreshWindowSeconds }) : stored;
  const name = record.connection_name;

  if (field !== undefined) {
    const value = fieldValue(record, field);
    if (isEmpty(value)) throw missingFieldError(record, field);
    if (secretField) audit(ctx.home, "secret_read", { provider, connection: name, profile: ctx.profile, field });
    if (ctx.out.json) ctx.out.result({ [field]: value }, () => "");
    else ctx.out.raw(typeof value === "object" ? JSON.stringify(value) : String(value));
    return;
  }

  if (opts.showSecret) audit(ctx.home, "secret_read", { provider, connection: name, profile: ctx.profile, field: "*" });
  const shown: Record<string, unknown> = opts.showSecret ? record : redactSecrets(record);
  ctx.out.result(shown, () =>
    Object.entries(shown).map(([k, v]) => `${k}: ${v !== null && typeof v === "object" ? JSON.stringify(v) : String(v)}`),
  );
}
