import type { HintScope } from "../home/home.js";
import { assertName } from "../home/names.js";
import {
  connectionForStore,
  connectionFromStore,
  keys,
  newMetadata,
  nowIso,
  parseKey,
  SCHEMA_VERSION,
  type ClientRecord,
  type ConnectionRecord,
  type ProviderMetadataRecord,
  type ProviderStateRecord,
} from "./records.js";
import type { Vault } from "./store.js";

export interface ConnectionEntry {
  provider: string;
  connection: string;
  key: string;
  record?: ConnectionRecord;
  error?: string;
}

/** Connections, client credentials and per-provider metadata of one profile. */
export class Connections {
  /**
   * `hintScope`: where hints point (Home.hintScope); by default the profile, unless it is
   * "default", and no home.
   */
  constructor(
    readonly vault: Vault,
    readonly hintScope: HintScope = vault.profile === "default" ? {} : { profile: vault.profile },
  ) {}

  get profile(): string {
    return this.vault.profile;
  }

  /** Every connection of the profile (or of one provider); unreadable records carry an error. */
  async list(provider?: string): Promise<ConnectionEntry[]> {
    const prefix = provider ? keys.providerPrefix(this.profile, provider) : keys.profilePrefix(this.profile);
    const entries = await this.vault.list(prefix);
    return entries
      .filter((e) => e.parsed?.kind === "connection")
      .map((e) => ({
        provider: e.parsed!.provider,
        connection: e.parsed!.connection!,
        key: e.key,
        ...(e.record ? { record: connectionFromStore(e.record as ConnectionRecord) } : { error: e.error! }),
      }));
  }

  metadata(provider: string): Promise<ProviderMetadataRecord | undefined> {
    return this.vault.get<ProviderMetadataRecord>(keys.metadata(this.profile, provider));
  }

  /** The connection a command means: the one named, else the provider's default, else "default". */
  async resolveName(provider: string, connection?: string): Promise<string> {
    if (connection) return assertName("connection", connection);
    return (await this.metadata(provider))?.default_connection ?? "default";
  }

  async get(provider: string, connection?: string): Promise<ConnectionRecord | undefined> {
    const name = await this.resolveName(provider, connection);
    const stored = await this.vault.get<ConnectionRecord>(keys.connection(this.profile, provider, name));
    return stored && connectionFromStore(stored);
  }

  /**
   * Stores a connection and lists it in the provider's metadata (the first one becomes the default).
   * `check` sees the record stored under that name now, inside the write lock, and refuses by throwing.
   */
  async save(record: ConnectionRecord, check?: (stored: ConnectionRecord | undefined) => void, client?: (stored: ClientRecord | undefined) => Partial<ClientRecord>): Promise<void> {
    const { provider, connection_name: name } = record;
    await this.vault.update(async (tx) => {
      if (check) check(await this.readIn(tx, keys.connection(this.profile, provider, name)));
      const meta = (await this.metadataIn(tx, provider)) ?? newMetadata(this.profile, provider, this.storedNames(provider));
      if (!meta.connection_names.includes(name)) meta.connection_names.push(name);
      meta.default_connection ??= name;
      meta.last_used_connection = name;
      const changes: Array<readonly [string, Record<string, unknown>]> = [
        [keys.connection(this.profile, provider, name), connectionForStore({ ...record, profile: this.profile })],
        [keys.metadata(this.profile, provider), meta],
      ];
      // the client the connection was issued to, in the same write: a refused save stores neither
      if (client) changes.push([keys.client(this.profile, provider), this.clientRecord(provider, client(await tx.get<ClientRecord>(keys.client(this.profile, provider)).catch(() => undefined)))]);
      return { changes, result: undefined };
    });
  }

  /**
   * Stores a refreshed record unless the connection changed since `from` was read (a login
   * replaced its tokens, or it was removed): then nothing is written and the stored record (or
   * undefined) is returned.
   */
  async putUnlessReplaced(record: ConnectionRecord, from: ConnectionRecord): Promise<{ replaced: boolean; stored: ConnectionRecord | undefined }> {
    const key = keys.connection(this.profile, record.provider, record.connection_name);
    return this.vault.update<{ replaced: boolean; stored: ConnectionRecord | undefined }>(async (tx) => {
      const stored = await this.readIn(tx, key);
      if (!stored || stored.access_token !== from.access_token || stored.refresh_token !== from.refresh_token) return { changes: [], result: { replaced: true, stored } };
      return { changes: [[key, connectionForStore(record)]], result: { replaced: false, stored: record } };
    });
  }

  /**
   * The provider's metadata inside a write transaction; undefined when missing or unreadable (a
   * damaged one is rebuilt from the stored connections rather than blocking every login and removal).
   */
  private async metadataIn(tx: { get: <R>(key: string) => Promise<R | undefined> }, provider: string): Promise<ProviderMetadataRecord | undefined> {
    return tx.get<ProviderMetadataRecord>(keys.metadata(this.profile, provider)).catch(() => undefined);
  }

  /** The names of the provider's stored connections, read off the store's keys. */
  private storedNames(provider: string): string[] {
    return this.vault.kv
      .list(keys.providerPrefix(this.profile, provider))
      .map((row) => parseKey(row.key))
      .filter((k) => k?.kind === "connection")
      .map((k) => k!.connection!);
  }

  /** A connection record read inside a write transaction (undefined when missing or unreadable). */
  private async readIn(tx: { get: <R>(key: string) => Promise<R | undefined> }, key: string): Promise<ConnectionRecord | undefined> {
    const stored = await tx.get<ConnectionRecord>(key).catch(() => undefined);
    return stored && connectionFromStore(stored);
  }

  /** Rewrites one connection record as it is (refresh, status changes); metadata is untouched. */
  async put(record: ConnectionRecord): Promise<void> {
    await this.vault.write([[keys.connection(this.profile, record.provider, record.connection_name), connectionForStore(record)]]);
  }

  /** Deletes one connection; the provider's metadata and state go with its last connection. */
  async delete(provider: string, name: string): Promise<boolean> {
    return this.vault.update(async (tx) => {
      const key = keys.connection(this.profile, provider, name);
      const existed = this.vault.kv.get(key) !== undefined;
      const left = this.storedNames(provider).filter((n) => n !== name);
      const changes: Array<readonly [string, Record<string, unknown> | undefined]> = [[key, undefined]];
      if (left.length === 0) {
        // the provider's last connection: its metadata and state go too, readable or not
        changes.push([keys.metadata(this.profile, provider), undefined], [keys.state(this.profile, provider), undefined]);
      } else {
        // metadata no key opens stays as it is (the next login rebuilds it): deleting needs no key
        const meta = await this.metadataIn(tx, provider);
        if (meta) {
          meta.connection_names = meta.connection_names.filter((n) => n !== name);
          if (meta.default_connection === name) meta.default_connection = meta.connection_names[0] ?? null;
          if (meta.last_used_connection === name) meta.last_used_connection = meta.default_connection;
          changes.push([keys.metadata(this.profile, provider), meta]);
        }
      }
      return { changes, result: existed };
    });
  }

  client(provider: string): Promise<ClientRecord | undefined> {
    return this.vault.get<ClientRecord>(keys.client(this.profile, provider));
  }

  async saveClient(provider: string, fields: Partial<ClientRecord>): Promise<void> {
    await this.vault.write([[keys.client(this.profile, provider), this.clientRecord(provider, fields)]]);
  }

  private clientRecord(provider: string, fields: Partial<ClientRecord>): ClientRecord {
    return { schema_version: SCHEMA_VERSION, profile: this.profile, provider, client_id: null, client_secret: null, base_url: null, host_url: null, scopes: null, metadata: {}, ...fields };
  }

  /**
   * Deletes the provider's metadata and state when no connection is left to need them (a damaged
   * record the last delete could not read, or one Python left); true when there were any.
   */
  async deleteLeftovers(provider: string): Promise<boolean> {
    if (this.storedNames(provider).length > 0) return false;
    const found = [keys.metadata(this.profile, provider), keys.state(this.profile, provider)].filter((key) => this.vault.kv.get(key) !== undefined);
    if (found.length === 0) return false;
    await this.vault.write(found.map((key) => [key, undefined] as const));
    return true;
  }

  /** Deletes the provider's client credentials; true when there were any. Writes nothing otherwise. */
  async deleteClient(provider: string): Promise<boolean> {
    const key = keys.client(this.profile, provider);
    if (this.vault.kv.get(key) === undefined) return false;
    await this.vault.write([[key, undefined]]);
    return true;
  }

  state(provider: string): Promise<ProviderStateRecord | undefined> {
    return this.vault.get<ProviderStateRecord>(keys.state(this.profile, provider));
  }

  async recordRefresh(provider: string, error: string | null): Promise<void> {
    const key = keys.state(this.profile, provider);
    await this.vault.update(async (tx) => {
      // what else the record holds (fields of the Python implementation's) is kept
      const stored = await tx.get<ProviderStateRecord>(key).catch(() => undefined);
      const state: ProviderStateRecord = { metadata: {}, ...stored, schema_version: SCHEMA_VERSION, provider, profile: this.profile, last_refresh_at: nowIso(), last_refresh_error: error };
      return { changes: [[key, state]], result: undefined };
    });
  }
}
