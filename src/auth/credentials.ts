import { CredentialMissingError } from "../errors.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";
import { DEFAULT_REFRESH_WINDOW_SECONDS, isExpired } from "./expiry.js";

/** The command that logs a connection in again (the default connection needs no --connection). */
export function loginCommand(provider: string, connection: string): string {
  return `authsome login ${provider}${connection === "default" ? "" : ` --connection ${connection}`}`;
}

export interface FreshnessOptions {
  /** Refresh this many seconds before expiry (config.json `refresh_window_seconds`). */
  windowSeconds?: number;
  /** false when no credential is handed out: showing a connection needs it neither valid nor fresh. */
  handsOutCredential?: boolean;
}

/**
 * The connection a command or agent asked for, ready to use: OAuth tokens about to expire are
 * refreshed first. Missing or dead connections are errors that name the login command to run.
 */
export async function usableConnection(
  connections: Connections,
  definition: ProviderDefinition,
  connection?: string,
  opts: FreshnessOptions = {},
): Promise<ConnectionRecord> {
  const provider = definition.name;
  const name = await connections.resolveName(provider, connection);
  const record = await connections.get(provider, name);
  const login = loginCommand(provider, name);
  if (!record) {
    throw new CredentialMissingError(`no connection "${name}" for provider "${provider}" in profile "${connections.profile}"`, {
      hint: `run \`${login}\``,
    });
  }
  if (opts.handsOutCredential === false) return record;
  if (record.status === "invalid" || record.status === "revoked") {
    throw new CredentialMissingError(`the connection "${name}" of "${provider}" is ${record.status}: a new login is needed`, {
      hint: `run \`${login} --force\``,
    });
  }
  const windowSeconds = opts.windowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS;
  if (record.auth_type === "oauth2" && isExpired(record, windowSeconds)) {
    // loaded only when needed: the everyday `get` of a valid token never pays for it
    const { refreshConnection } = await import("./refresh.js");
    return refreshConnection({ connections, definition, windowSeconds }, record);
  }
  return record;
}
