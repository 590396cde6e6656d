import type { ProviderDefinition } from "../providers/schema.js";
import type { ConnectionRecord } from "../vault/records.js";
import { SECRET_FIELDS } from "../vault/records.js";

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

/** POSIX shell single-quoting: safe for any byte but NUL. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function dotenvQuote(value: string): string {
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
