// Local deletion only, no network; shared by `authsome remove` and the library.
import { CredentialMissingError } from "../errors.js";
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import { assertName } from "../home/names.js";
import type { ProviderRegistry } from "../providers/registry.js";
import type { Connections } from "../vault/connections.js";
import { withRefreshLock } from "./refresh.js";

/** The same document as `authsome remove --json`. */
export interface RemoveResult {
  status: "removed";
  provider: string;
  profile: string;
  connections: string[];
  /** The client credentials were deleted. */
  client_credentials: boolean;
  /** The user's registered definition file was deleted. */
  definition: boolean;
}

/**
 * With `connection`: that connection. Without: all of the provider's connections, its client
 * credentials and its registered definition file.
 */
export async function removeStored(home: Home, connections: Connections, registry: ProviderRegistry, provider: string, connection?: string): Promise<RemoveResult> {
  assertName("provider", provider);
  const profile = connections.profile;
  if (connection !== undefined) {
    const name = assertName("connection", connection);
    const exists = (await connections.list(provider)).some((e) => e.connection === name);
    // under the refresh lock: a refresh in flight elsewhere finishes first and cannot write it back
    if (!exists || !(await withRefreshLock(connections, provider, name, () => connections.delete(provider, name)))) {
      throw new CredentialMissingError(`no connection "${name}" for provider "${provider}"`, { hint: "`authsome list` shows the connections" });
    }
    audit(home, "remove", { provider, connection: name, profile });
    return { status: "removed", provider, profile, connections: [name], client_credentials: false, definition: false };
  }
  const entries = await connections.list(provider);
  for (const e of entries) await withRefreshLock(connections, provider, e.connection, () => connections.delete(provider, e.connection));
  const client = await connections.deleteClient(provider);
  const definition = registry.unregister(provider);
  if (entries.length === 0 && !client && !definition) {
    throw new CredentialMissingError(`nothing stored for provider "${provider}" in profile "${profile}"`, {
      hint: "`authsome list` shows what is stored",
    });
  }
  const names = entries.map((e) => e.connection);
  audit(home, "remove", { provider, profile, connections: names, client_credentials: client, definition });
  return { status: "removed", provider, profile, connections: names, client_credentials: client, definition };
}
