import type { ConnectionRecord } from "../vault/records.js";

/** Seconds before expiry at which a token is refreshed, unless configured otherwise. */
export const DEFAULT_REFRESH_WINDOW_SECONDS = 300;

/** True when the access token expires within windowSeconds of now (or already has). No expiry means never. */
export function isExpired(record: Pick<ConnectionRecord, "expires_at">, windowSeconds: number, now = Date.now()): boolean {
  if (!record.expires_at) return false;
  const at = Date.parse(record.expires_at);
  return Number.isNaN(at) || at - windowSeconds * 1000 <= now;
}
