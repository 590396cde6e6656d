// Local deletion only, no network; shared by `authsome remove` and the library.
import { existsSync } from "node:fs";
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import { assertName } from "../home/names.js";
import type { ProviderRegistry } from "../providers/registry.js";
import type { Connections } from "../vault/connections.js";
import { keys } from "../vault/records.js";
import { noConnectionError, nothingStoredError } from "./credentials.js";
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
  /** The profiles that kept the registered definition (it belongs to the whole home) by still holding something of the provider. */
  definition_kept_for?: string[];
}

/**
 * With `connection`: that connection. Without: all of the provider's connections, its client
 * credentials and its registered definition file. A provider without a definition is removed
 * too when something of it is stored (leftovers of a deleted definition); with nothing stored it
 * is an unknown provider, as for every command.
 */
export async function removeStored(home: Home, connections: Connections, registry: ProviderRegistry, provider: string, connection?: string): Promise<RemoveResult> {
  assertName("provider", provider);
  const profile = connections.profile;
  const entries = await connections.list(provider);
  if (connection !== undefined) {
    const name = assertName("connection", connection);
    const exists = entries.some((e) => e.connection === name);
    // under the refresh lock: a refresh in flight elsewhere finishes first and cannot write it back
    if (!exists || !(await withRefreshLock(connections, provider, name, () => connections.delete(provider, name)))) {
      if (entries.length === 0) assertKnownProvider(home, registry, provider);
      throw noConnectionError(provider, name, connections);
    }
    audit(home, "remove", { provider, connection: name, profile });
    return { status: "removed", provider, profile, connections: [name], client_credentials: false, definition: false };
  }
  for (const e of entries) await withRefreshLock(connections, provider, e.connection, () => connections.delete(provider, e.connection));
  const leftovers = await connections.deleteLeftovers(provider);
  const client = await connections.deleteClient(provider);
  // the definition file is the whole home's: it stays while another profile still holds something of the provider
  const keptFor: string[] = [];
  if (existsSync(home.paths.userProvider(provider))) {
    for (const other of home.listProfiles()) if (other !== profile && (await holdsProvider(home, other, provider))) keptFor.push(other);
  }
  const definition = keptFor.length === 0 && registry.unregister(provider);
  if (entries.length === 0 && !client && !definition && !leftovers) {
    assertKnownProvider(home, registry, provider);
    throw nothingStoredError(provider, connections);
  }
  const names = entries.map((e) => e.connection);
  audit(home, "remove", { provider, profile, connections: names, client_credentials: client, definition });
  return { status: "removed", provider, profile, connections: names, client_credentials: client, definition, ...(keptFor.length ? { definition_kept_for: keptFor } : {}) };
}

/** True when the profile's store holds any record of the provider (or cannot be read: then it may). */
async function holdsProvider(home: Home, profile: string, provider: string): Promise<boolean> {
  // the SQLite driver loads on first use only (the library imports this file)
  const { storeHolds } = await import("../vault/kv.js");
  try {
    return storeHolds(home.paths.store(profile), keys.providerPrefix(profile, provider));
  } catch {
    return true;
  }
}

/** An unknown provider is exit 3, as every command reports it; a user file, even a broken one, makes it known. */
function assertKnownProvider(home: Home, registry: ProviderRegistry, provider: string): void {
  if (!existsSync(home.paths.userProvider(provider))) registry.get(provider); // bundled, or throws ProviderNotFoundError
}
