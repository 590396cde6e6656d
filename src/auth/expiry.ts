import type { ConnectionRecord } from "../vault/records.js";

/** Seconds before expiry at which a token is refreshed, unless configured otherwise. */
export const DEFAULT_REFRESH_WINDOW_SECONDS = 300;

/**
 * True when the access token expires within windowSeconds of now (or already has). No expiry means
 * never. A token that lives less than twice the window is due at half its life instead: else one
 * that lives shorter than the window would be refreshed again on every use, by every agent.
 */
export function isExpired(record: Pick<ConnectionRecord, "expires_at" | "obtained_at">, windowSeconds: number, now = Date.now()): boolean {
  if (!record.expires_at) return false;
  const at = Date.parse(record.expires_at);
  if (Number.isNaN(at)) return true;
  const obtained = record.obtained_at ? Date.parse(record.obtained_at) : NaN;
  const window = Number.isNaN(obtained) || obtained >= at ? windowSeconds * 1000 : Math.min(windowSeconds * 1000, (at - obtained) / 2);
  return at - window <= now;
}
