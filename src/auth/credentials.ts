import { CredentialMissingError } from "../errors.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";

/**
 * The connection a command or agent asked for, ready to use. Missing or dead connections are
 * errors that name the login command to run.
 */
export async function usableConnection(connections: Connections, provider: string, connection?: string): Promise<ConnectionRecord> {
  const name = await connections.resolveName(provider, connection);
  const record = await connections.get(provider, name);
  if (!record) {
    throw new CredentialMissingError(`no connection "${name}" for provider "${provider}" in profile "${connections.profile}"`, {
      hint: `run \`authsome login ${provider}${name === "default" ? "" : ` --connection ${name}`}\``,
    });
  }
  if (record.status === "invalid" || record.status === "revoked") {
    throw new CredentialMissingError(`the connection "${name}" of "${provider}" is ${record.status}`, {
      hint: `run \`authsome login ${provider}${name === "default" ? "" : ` --connection ${name}`} --force\``,
    });
  }
  return record;
}
