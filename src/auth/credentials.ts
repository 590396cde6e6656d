import { CredentialMissingError } from "../errors.js";
import type { HintScope } from "../home/home.js";
import { assertName } from "../home/names.js";
import type { ProviderDefinition } from "../providers/schema.js";
import type { Connections } from "../vault/connections.js";
import type { ConnectionRecord } from "../vault/records.js";
import { DEFAULT_REFRESH_WINDOW_SECONDS, isExpired } from "./expiry.js";
import { shellWord } from "./shell.js";

/** `authsome ARGS` in the hint's scope. */
function scoped(args: string, scope: HintScope | undefined): string {
  const home = scope?.home === undefined ? "" : `AUTHSOME_HOME=${shellWord(scope.home)} `;
  return `${home}authsome ${args}${scope?.profile === undefined ? "" : ` --profile ${scope.profile}`}`;
}

/**
 * The command that logs a connection in: it names the flow and connection unless they are the
 * defaults, and the scope where a bare command would reach another store, so following a hint
 * reaches the connection the failed command used.
 */
export function loginCommand(provider: string, connection: string, scope: HintScope | undefined, flow?: string): string {
  return scoped(`login ${provider}${flow ? ` --flow ${flow}` : ""}${connection === "default" ? "" : ` --connection ${connection}`}`, scope);
}

/** The --flow a login of this kind of connection needs: OAuth 1.0a and app-only ones sit beside a provider's OAuth 2.0 one, which a plain login makes. */
export function flowOf(authType: string): string | undefined {
  return authType === "oauth1" || authType === "app_only" ? authType : undefined;
}

/** The login that replaces a stored connection with one of the same kind. */
export function reloginCommand(record: ConnectionRecord, scope: HintScope | undefined): string {
  return `${loginCommand(record.provider, record.connection_name, scope, flowOf(record.auth_type))} --force`;
}

/** The hint of an error that a new login of this connection cures. */
export function reloginHint(record: ConnectionRecord, scope: HintScope | undefined): string {
  return `run \`${reloginCommand(record, scope)}\``;
}

/** The connection name a command means: --connection (an empty one is refused like any invalid name), else the provider's default. */
export async function connectionName(connections: Connections, provider: string, connection?: string): Promise<string> {
  return connection === undefined ? connections.resolveName(provider) : assertName("connection", connection);
}

/** The one error for a connection that is not stored, whichever command asked. */
export function noConnectionError(provider: string, connection: string, connections: Connections): CredentialMissingError {
  const scope = connections.hintScope;
  return new CredentialMissingError(`no connection "${connection}" for provider "${provider}" in profile "${connections.profile}"`, {
    hint: `run \`${loginCommand(provider, connection, scope)}\` to connect it, or \`${scoped("list", scope)}\` to see the connections`,
  });
}

/** The one error for a known provider with nothing stored in the profile. */
export function nothingStoredError(provider: string, connections: Connections): CredentialMissingError {
  return new CredentialMissingError(`nothing stored for provider "${provider}" in profile "${connections.profile}"`, {
    hint: `\`${scoped("list", connections.hintScope)}\` shows what is stored`,
  });
}

export interface FreshnessOptions {
  /** Refresh this many seconds before expiry (config.json `refresh_window_seconds`). */
  windowSeconds?: number;
  /** false when no credential is handed out: showing a connection needs it neither valid nor fresh. */
  handsOutCredential?: boolean;
}

/** The connection as stored, neither checked nor refreshed; a missing one is an error naming the login to run. */
export async function storedConnection(connections: Connections, provider: string, connection?: string): Promise<ConnectionRecord> {
  const name = await connectionName(connections, provider, connection);
  const record = await connections.get(provider, name);
  if (!record) throw noConnectionError(provider, name, connections);
  return record;
}

/** A connection marked invalid or revoked is an error naming the login that cures it. */
export function assertAlive(connections: Connections, definition: ProviderDefinition, record: ConnectionRecord): void {
  if (record.status === "invalid" || record.status === "revoked") {
    throw new CredentialMissingError(`the connection "${record.connection_name}" of "${definition.name}" is ${record.status}: a new login is needed`, {
      hint: reloginHint(record, connections.hintScope),
    });
  }
}

/** A stored connection ready to hand out: dead ones are errors, OAuth tokens about to expire are refreshed first. */
export async function freshConnection(
  connections: Connections,
  definition: ProviderDefinition,
  record: ConnectionRecord,
  opts: Pick<FreshnessOptions, "windowSeconds"> = {},
): Promise<ConnectionRecord> {
  assertAlive(connections, definition, record);
  const windowSeconds = opts.windowSeconds ?? DEFAULT_REFRESH_WINDOW_SECONDS;
  if (record.auth_type === "oauth2" && isExpired(record, windowSeconds)) {
    // loaded only when needed: the everyday `get` of a valid token never pays for it
    const { refreshConnection } = await import("./refresh.js");
    return refreshConnection({ connections, definition, windowSeconds }, record);
  }
  return record;
}

/** The connection a command or agent asked for, ready to use (see freshConnection). */
export async function usableConnection(
  connections: Connections,
  definition: ProviderDefinition,
  connection?: string,
  opts: FreshnessOptions = {},
): Promise<ConnectionRecord> {
  const record = await storedConnection(connections, definition.name, connection);
  return opts.handsOutCredential === false ? record : freshConnection(connections, definition, record, opts);
}
