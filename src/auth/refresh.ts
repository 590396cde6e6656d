import { join } from "node:path";
import { CredentialMissingError, RefreshError } from "../errors.js";
import { audit } from "../home/audit.js";
import { ensurePrivateDir } from "../home/files.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import { withFileLock } from "../vault/lock.js";
import { nowIso, type ConnectionRecord } from "../vault/records.js";
import { OAuthError, TemporaryTokenError } from "./oauth-errors.js";
import { oauthClientFor, type StoredOAuthClient } from "./client-credentials.js";
import { holdSignals } from "./hold-signals.js";
import { expiresAt, tokenRequest } from "./token-client.js";
import { isExpired } from "./expiry.js";
import { reloginHint } from "./credentials.js";

// Refresh, single-flight across processes: one flock per connection serialises refreshers;
// whoever gets the lock re-reads the store first and reuses a refresh another process made.
// The kernel drops the lock of a process that dies mid-refresh, so nobody waits on a dead one.

export interface RefreshContext {
  connections: Connections;
  definition: ProviderDefinition;
  /** Refresh this many seconds before expiry. */
  windowSeconds: number;
  now?: () => number;
  /** An access token the provider just refused (HTTP 401): refresh even if it looks unexpired, unless another process already replaced it. */
  rejectedAccessToken?: string;
}

function lockPath(connections: Connections, provider: string, connection: string): string {
  const dir = join(connections.vault.home.paths.profile(connections.profile), "locks", provider);
  ensurePrivateDir(dir);
  return join(dir, `${connection}.refresh.lock`);
}

/**
 * Runs `fn` holding the connection's refresh lock: a refresh in flight in another process ends
 * first, and none starts until `fn` is done (logout revokes the newest tokens, not older ones).
 */
export function withRefreshLock<T>(connections: Connections, provider: string, connection: string, fn: () => Promise<T>): Promise<T> {
  connections.vault.home.prepareProfileForWrite(connections.profile);
  return withFileLock(lockPath(connections, provider, connection), fn);
}

/** How long a token that a refresh did not cure is not refreshed again for another 401. */
const UNCURED_COOLDOWN_MS = 60_000;

/**
 * Tokens minted because of a 401 and refused at once, by the same request sent again: those 401s
 * are not about the token (a path the account may not use, a service answering 401 to anything),
 * and for a while a 401 for such a token is passed on rather than met with another refresh, which
 * would make one per request. A token that worked and is refused later (revoked) is refreshed.
 */
export class RefreshesAfter401 {
  private readonly uncured = new Map<string, { token: string; at: number }>();

  /** Whether a 401 for `rejected` may refresh the connection `key`. */
  mayRefresh(key: string, rejected: string): boolean {
    const last = this.uncured.get(key);
    return !(last && last.token === rejected && performance.now() - last.at < UNCURED_COOLDOWN_MS);
  }

  /** The request sent again with `token`, just minted for its 401, was refused again. */
  notCured(key: string, token: string): void {
    this.uncured.set(key, { token, at: performance.now() });
  }
}

/** Returns the connection with a token valid beyond the window, refreshing it if needed. */
export async function refreshConnection(ctx: RefreshContext, stale: ConnectionRecord): Promise<ConnectionRecord> {
  const { connections, definition } = ctx;
  const provider = definition.name;
  const name = stale.connection_name;
  const now = ctx.now ?? Date.now;
  return withRefreshLock(connections, provider, name, async () => {
    const current = await connections.get(provider, name);
    if (!current) throw removedMeanwhile(connections, stale);
    const rejected = ctx.rejectedAccessToken !== undefined && current.access_token === ctx.rejectedAccessToken;
    if (!rejected && !isExpired(current, ctx.windowSeconds, now())) return current; // another process refreshed it
    if (current.status === "invalid") throw deadGrant(connections, provider, name, current);
    if (!current.refresh_token) {
      if (!isExpired(current, 0, now())) return current;
      throw new RefreshError(`the access token of "${provider}" (connection "${name}") expired and there is no refresh token`, { hint: reloginHint(current, connections.hintScope) });
    }
    const stored = await oauthClientFor(connections, definition, current);
    // from the request until the rotated token is stored, a signal waits (see hold-signals.ts)
    const release = holdSignals();
    try {
      return await exchangeAndStore(ctx, current, stored, now);
    } finally {
      release();
    }
  });
}

/** The refresh grant, and its tokens stored (or the failure handled). */
async function exchangeAndStore(ctx: RefreshContext, current: ConnectionRecord, { client, oauth }: StoredOAuthClient, now: () => number): Promise<ConnectionRecord> {
  const { connections, definition } = ctx;
  const provider = definition.name;
  const name = current.connection_name;
  let response;
  try {
    response = await tokenRequest({
      url: oauth.token_url,
      grant: { grant_type: "refresh_token", refresh_token: current.refresh_token! },
      client,
      responseFormat: oauth.token_response_format,
    });
  } catch (err) {
    return handleFailure(ctx, current, err, now());
  }
  const refreshed: ConnectionRecord = {
    ...current,
    status: "connected",
    access_token: response.access_token,
    // a rotated refresh token replaces the old one in the same write as the new access token
    refresh_token: response.refresh_token ?? current.refresh_token,
    token_type: response.token_type,
    expires_at: expiresAt(response.expires_in, now()),
    obtained_at: nowIso(new Date(now())),
    scopes: response.scope ? response.scope.split(" ").filter(Boolean) : current.scopes,
  };
  // a login may have replaced the connection meanwhile (it does not wait for this lock): it wins,
  // and the tokens just issued for the grant it replaced are dropped
  const winner = await putOrWinner(connections, refreshed, current);
  if (winner) return winner;
  await connections.recordRefresh(provider, null);
  audit(connections.vault.home, "refresh", { provider, connection: name, profile: connections.profile, rotated: Boolean(response.refresh_token && response.refresh_token !== current.refresh_token) });
  return refreshed;
}

/**
 * Stores `record` unless the connection changed since `from` was read; then returns what replaced
 * it (a login meanwhile wins), or throws when it was removed. Undefined: `record` was stored.
 */
async function putOrWinner(connections: Connections, record: ConnectionRecord, from: ConnectionRecord): Promise<ConnectionRecord | undefined> {
  const { replaced, stored } = await connections.putUnlessReplaced(record, from);
  if (!replaced) return undefined;
  if (!stored) throw removedMeanwhile(connections, from);
  return stored;
}

/** The connection went while it was being refreshed. */
function removedMeanwhile(connections: Connections, record: ConnectionRecord): CredentialMissingError {
  return new CredentialMissingError(`the connection "${record.connection_name}" of "${record.provider}" was removed`, { hint: reloginHint(record, connections.hintScope) });
}

function deadGrant(connections: Connections, provider: string, connection: string, record: ConnectionRecord): RefreshError {
  const reason = typeof record.metadata?.last_refresh_error === "string" ? ` (${record.metadata.last_refresh_error})` : "";
  return new RefreshError(`the authorization of "${provider}" (connection "${connection}") is no longer valid${reason}: a new login is needed`, {
    hint: reloginHint(record, connections.hintScope),
  });
}

async function handleFailure(ctx: RefreshContext, current: ConnectionRecord, err: unknown, now: number): Promise<ConnectionRecord> {
  const { connections, definition } = ctx;
  const provider = definition.name;
  const name = current.connection_name;
  const description = err instanceof OAuthError ? `${err.error}${err.errorDescription ? `: ${err.errorDescription}` : ""}` : (err as Error).message;
  // someone outside our lock (the Python implementation's logout) may have removed it meanwhile:
  // nothing is written back for a connection that is gone
  const latest = await connections.get(provider, name);
  if (!latest) throw removedMeanwhile(connections, current);
  await connections.recordRefresh(provider, description);

  const deadCodes = new Set(["invalid_grant", ...(definition.oauth?.dead_grant_errors ?? [])]);
  if (err instanceof OAuthError && deadCodes.has(err.error)) {
    // ... or rotated the token: then the new one is handed out
    if (latest.refresh_token !== current.refresh_token && !isExpired(latest, 0, now)) return latest;
    const invalid: ConnectionRecord = { ...latest, status: "invalid", metadata: { ...latest.metadata, last_refresh_error: description } };
    const winner = await putOrWinner(connections, invalid, latest);
    if (winner) return winner;
    throw deadGrant(connections, provider, name, invalid);
  }
  if (err instanceof TemporaryTokenError && !isExpired(current, 0, now)) {
    return current; // the cached token still works; try again next time
  }
  throw new RefreshError(`refreshing "${provider}" (connection "${name}") failed: ${description}`, {
    hint: err instanceof TemporaryTokenError ? "the provider could not be reached; try again shortly" : reloginHint(current, connections.hintScope),
    cause: err,
  });
}
