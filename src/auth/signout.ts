// Logout and revoke, shared by the CLI and the library: remote revocation is best effort, the
// local deletion always happens, and the audit line is written here so both record the same.
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";
import { connectionName, noConnectionError, nothingStoredError } from "./credentials.js";
import { withRefreshLock } from "./refresh.js";
import { revokeConnectionRemotely, type RemoteRevocation } from "./revoke.js";

/** The same document as `authsome logout --json`. */
export interface LogoutResult {
  status: "logged_out";
  provider: string;
  connection: string;
  profile: string;
  /** Every token was revoked at the provider. */
  revoked_remotely: boolean;
  /** What could not be done remotely; never a secret. */
  warnings: string[];
}

/** Revokes the connection's tokens at the provider (best effort), then deletes it locally. */
export async function logoutConnection(home: Home, connections: Connections, definition: ProviderDefinition, connection?: string): Promise<LogoutResult> {
  const provider = definition.name;
  const name = await connectionName(connections, provider, connection);
  // checked before the lock, which creates the profile: a wrong name must change nothing on disk
  if (!(await connections.list(provider)).some((e) => e.connection === name)) throw noConnectionError(provider, name, connections);
  const { remote, removed } = await withRefreshLock(connections, provider, name, async () => {
    let record: ConnectionRecord | undefined;
    let remote: RemoteRevocation = { revoked: false, warnings: [] };
    try {
      record = await connections.get(provider, name);
    } catch (err) {
      // An unreadable record cannot be revoked remotely, but must still be deletable.
      remote.warnings.push(`the connection "${name}" could not be read, so it was only deleted locally: ${(err as Error).message}`);
    }
    if (record) remote = await revokeConnectionRemotely(connections, definition, record);
    return { remote, removed: await connections.delete(provider, name) };
  });
  if (!removed) throw noConnectionError(provider, name, connections); // deleted meanwhile by another process
  audit(home, "logout", { provider, connection: name, profile: connections.profile, revoked_remotely: remote.revoked, warnings: remote.warnings.length });
  return { status: "logged_out", provider, connection: name, profile: connections.profile, revoked_remotely: remote.revoked, warnings: remote.warnings };
}

/** The same document as `authsome revoke --json`. */
export interface RevokeResult {
  status: "revoked";
  provider: string;
  profile: string;
  /** The connections that were deleted. */
  connections: string[];
  /** The client credentials were deleted too. */
  client_credentials: boolean;
  /** Every token of every connection was revoked at the provider (false when one was not, or there were none). */
  revoked_remotely: boolean;
  warnings: string[];
}

/** Every connection of the provider is revoked remotely (best effort) and forgotten, with its client credentials. */
export async function revokeProvider(home: Home, connections: Connections, definition: ProviderDefinition): Promise<RevokeResult> {
  const provider = definition.name;
  const entries = await connections.list(provider);
  const warnings: string[] = [];
  // one connection left valid at the provider makes it false: a script must not take it for dead
  let revokedRemotely = entries.length > 0;
  for (const e of entries) {
    await withRefreshLock(connections, provider, e.connection, async () => {
      // re-read under the lock: a refresh that was in flight may have rotated the tokens
      const record = e.record ? ((await connections.get(provider, e.connection).catch(() => undefined)) ?? e.record) : undefined;
      if (record) {
        // The client credentials are still stored here: they authenticate the revocation requests.
        const remote = await revokeConnectionRemotely(connections, definition, record);
        revokedRemotely &&= remote.revoked;
        warnings.push(...remote.warnings);
      } else {
        revokedRemotely = false;
        warnings.push(`the connection "${e.connection}" could not be read, so it was only deleted locally: ${e.error}`);
      }
      await connections.delete(provider, e.connection);
    });
  }
  const client = await connections.deleteClient(provider);
  if (entries.length === 0 && !client) {
    throw nothingStoredError(provider, connections);
  }
  const names = entries.map((e) => e.connection);
  audit(home, "revoke", { provider, profile: connections.profile, connections: names, client_credentials: client, revoked_remotely: revokedRemotely, warnings: warnings.length });
  return { status: "revoked", provider, profile: connections.profile, connections: names, client_credentials: client, revoked_remotely: revokedRemotely, warnings };
}
