import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { PRIVATE_FILE, ensurePrivateDir } from "./files.js";
import type { Home } from "./home.js";

// The audit log: one JSON object per line, for logins, logouts, secret reads, exports and runs.
// Callers pass names and facts only; never a secret value.

export type AuditEvent =
  | "login"
  | "logout"
  | "revoke"
  | "remove"
  | "register"
  | "unregister"
  | "secret_read"
  | "export"
  | "run"
  | "refresh"
  | "profile_create";

export interface AuditEntry {
  timestamp: string;
  event: string;
  [k: string]: unknown;
}

export function audit(home: Home, event: AuditEvent, fields: Record<string, unknown> = {}): void {
  const entry: AuditEntry = { timestamp: new Date().toISOString(), event, ...fields };
  ensurePrivateDir(home.root);
  appendFileSync(home.paths.audit, JSON.stringify(entry) + "\n", { mode: PRIVATE_FILE });
}

/** Entries oldest first; lines that are not JSON objects are skipped. */
export function readAudit(home: Home): AuditEntry[] {
  if (!existsSync(home.paths.audit)) return [];
  const entries: AuditEntry[] = [];
  for (const line of readFileSync(home.paths.audit, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const parsed = JSON.parse(line) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) entries.push(parsed as AuditEntry);
    } catch {
      // a torn or foreign line: skip it rather than fail the whole log
    }
  }
  return entries;
}
