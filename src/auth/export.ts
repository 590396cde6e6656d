import { CredentialMissingError } from "../errors.js";
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";
import { SECRET_FIELDS } from "../vault/records.js";
import { usableConnection } from "./credentials.js";
import { shellQuote } from "./shell.js";

export type ExportFormat = "env" | "shell" | "dotenv" | "json";

export interface ExportedVariable {
  name: string;
  value: string;
  /** The record field it came from (access_token, account.label, ...). */
  field: string;
  secret: boolean;
}

/** Reads a dotted field of a record ("account.label"); undefined when absent. */
export function fieldValue(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The environment variables a definition maps a connection to; absent values are skipped. */
export function exportVariables(definition: ProviderDefinition, record: ConnectionRecord): ExportedVariable[] {
  const mapping = definition.export?.env ?? {};
  const vars: ExportedVariable[] = [];
  for (const [field, name] of Object.entries(mapping)) {
    const value = fieldValue(record, field);
    if (value === null || value === undefined || value === "") continue;
    vars.push({ name, value: String(value), field, secret: SECRET_FIELDS.has(field) });
  }
  return vars;
}

/**
 * A value as the dotenv readers (Node's --env-file and the dotenv package, python-dotenv) all read
 * it back: in single quotes, which they take literally, unless it holds one; then in double quotes
 * when it needs no escape there (its line breaks as \n, which they all expand); else bare when
 * nothing in it is special to any of them. What is left (a quote with a backslash or `${`) gets
 * the escapes python-dotenv reads: Node's reader knows no \\ or \". (python-dotenv expands ${...}
 * in any quotes, unless asked not to.)
 */
function dotenvQuote(value: string): string {
  if (!/['\r\n]/.test(value)) return `'${value}'`;
  if (!/[\\"$\r]/.test(value)) return `"${value.replace(/\n/g, "\\n")}"`;
  if (/^[^\s'"`#][^#\r\n]*$/.test(value) && !/\s$/.test(value) && !value.includes("${")) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n").replace(/\r/g, "\\r")}"`;
}

export function formatExport(vars: ExportedVariable[], format: ExportFormat): string {
  switch (format) {
    case "json":
      return JSON.stringify(Object.fromEntries(vars.map((v) => [v.name, v.value])), null, 2);
    case "shell":
      return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}`).join("\n");
    case "env":
      return vars.map((v) => `${v.name}=${shellQuote(v.value)}`).join("\n");
    case "dotenv":
      return vars.map((v) => `${v.name}=${dotenvQuote(v.value)}`).join("\n");
  }
}

export const EXPORT_FORMATS: readonly ExportFormat[] = ["env", "shell", "dotenv", "json"];

/**
 * A connection's variables in one format, from a fresh credential (refreshed first when it is
 * about to expire); audited. The CLI's `export` and the library's `export` are this.
 */
export async function exportConnection(
  home: Home,
  connections: Connections,
  definition: ProviderDefinition,
  opts: { connection?: string; format: ExportFormat; windowSeconds?: number },
): Promise<string> {
  const provider = definition.name;
  const record = await usableConnection(connections, definition, opts.connection, { windowSeconds: opts.windowSeconds });
  const vars = exportVariables(definition, record);
  if (vars.length === 0) {
    throw new CredentialMissingError(`the connection "${record.connection_name}" of "${provider}" has nothing to export`, {
      hint: `the definition maps ${Object.keys(definition.export?.env ?? {}).join(", ") || "no fields"}; see \`authsome inspect ${provider}\``,
    });
  }
  audit(home, "export", { provider, connection: record.connection_name, profile: connections.profile, format: opts.format, variables: vars.map((v) => v.name) });
  return formatExport(vars, opts.format);
}
