import { appendFileSync, closeSync, fchmodSync, openSync, readFileSync } from "node:fs";
import { PRIVATE_FILE, ensurePrivateDir, fileError } from "./files.js";
import type { Home } from "./home.js";

// The audit log: one JSON object per line, for logins, logouts, secret reads, exports and runs.
// Callers pass names and facts only; never a secret value. Callers audit before they hand anything
// out, so an entry that cannot be written fails the command: no secret read goes unrecorded.

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
  home.checkRoot();
  ensurePrivateDir(home.root);
  try {
    // made private when it was not (a log the Python implementation created, say): it tells which secrets were read
    const fd = openSync(home.paths.audit, "a", PRIVATE_FILE);
    try {
      fchmodSync(fd, PRIVATE_FILE);
      appendFileSync(fd, JSON.stringify(entry) + "\n");
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw fileError(err, "write", home.paths.audit, `the ${event} event to the audit log`);
  }
}

/** Entries oldest first; lines that are not JSON objects are skipped. */
export function readAudit(home: Home): AuditEntry[] {
  home.checkRoot();
  let text: string;
  try {
    text = readFileSync(home.paths.audit, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw fileError(err, "read", home.paths.audit, "the audit log");
  }
  const entries: AuditEntry[] = [];
  for (const line of text.split("\n")) {
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
