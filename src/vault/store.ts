import { StoreUnavailableError } from "../errors.js";
import { encryptionMode } from "../home/config.js";
import type { Home } from "../home/home.js";
import { open, seal } from "./envelope.js";
import { KvStore, storeHolds } from "./kv.js";
import { withFileLock } from "./lock.js";
import { loadMasterKey } from "./masterkey.js";
import { checkRecord, parseKey, type ParsedKey } from "./records.js";

/** A record that could not be read: reported by its key, never fatal for listings. */
export class CorruptRecordError extends StoreUnavailableError {
  static override readonly errorName: string = "CorruptRecordError";
}

export interface StoreEntry {
  key: string;
  parsed: ParsedKey | undefined;
  record?: Record<string, unknown>;
  /** Why the record could not be read (no secret in it). */
  error?: string;
}

/** The encrypted key-value store of one profile. */
export class Vault {
  readonly kv: KvStore;
  private key: Buffer | undefined;
  private keyVerified = false;

  constructor(
    readonly home: Home,
    readonly profile: string,
  ) {
    this.kv = new KvStore(home.paths.store(profile));
  }

  /** Whether any profile of this home already holds records (then a missing key is never replaced). */
  private homeHasRecords(): boolean {
    if (this.kv.hasAny()) return true;
    return this.home.listProfiles().some((p) => p !== this.profile && storeHolds(this.home.paths.store(p)));
  }

  private async masterKey(): Promise<Buffer> {
    this.key ??= await loadMasterKey(encryptionMode(this.home.config()), this.home.paths, { mayCreate: !this.homeHasRecords() });
    return this.key;
  }

  private decode(key: string, sealed: string, masterKey: Buffer): Record<string, unknown> {
    const parsed = parseKey(key);
    let text: string;
    try {
      text = open(masterKey, sealed);
    } catch {
      throw new CorruptRecordError(`record ${key} cannot be decrypted (wrong master key, or the record is corrupted)`, {
        hint: "check that master.key belongs to this home; remove the record with `authsome remove` if it is damaged",
      });
    }
    try {
      return checkRecord(parsed?.kind ?? "connection", JSON.parse(text));
    } catch (err) {
      throw new CorruptRecordError(`record ${key} is invalid: ${(err as Error).message}`, {
        hint: "remove it and log in again",
      });
    }
  }

  async get<T = Record<string, unknown>>(key: string): Promise<T | undefined> {
    const sealed = this.kv.get(key);
    if (sealed === undefined) return undefined;
    return this.decode(key, sealed, await this.masterKey()) as T;
  }

  /** Every record under prefix; unreadable ones carry an error instead of failing the listing. */
  async list(prefix: string): Promise<StoreEntry[]> {
    const rows = this.kv.list(prefix);
    if (rows.length === 0) return [];
    const masterKey = await this.masterKey();
    return rows.map(({ key, value }) => {
      const parsed = parseKey(key);
      try {
        return { key, parsed, record: this.decode(key, value, masterKey) };
      } catch (err) {
        return { key, parsed, error: (err as Error).message };
      }
    });
  }

  /** Runs fn under the profile's write lock (the same flock the Python implementation takes). */
  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    this.home.prepareProfileForWrite(this.profile);
    return withFileLock(this.home.paths.lock(this.profile), fn);
  }

  /**
   * Before the first write, proves the key opens what is already stored: a wrong key would
   * otherwise add records that nothing else can read. One readable record is proof enough.
   */
  private async keyForWrite(): Promise<Buffer> {
    const masterKey = await this.masterKey();
    if (this.keyVerified) return masterKey;
    const rows = this.kv.list(`profile:${this.profile}:`);
    const opens = (value: string) => {
      try {
        open(masterKey, value);
        return true;
      } catch {
        return false;
      }
    };
    if (rows.length > 0 && !rows.some((r) => opens(r.value))) {
      throw new StoreUnavailableError(`the master key does not open any record of profile "${this.profile}"; nothing was written`, {
        hint: "restore the master key this store was written with (master.key, or the keyring entry authsome/master_key)",
      });
    }
    this.keyVerified = true;
    return masterKey;
  }

  /** Writes records (or deletes, for undefined) in one transaction. Call inside locked(). */
  async writeUnlocked(changes: ReadonlyArray<readonly [string, Record<string, unknown> | undefined]>): Promise<void> {
    // deleting seals nothing: records no key opens (damaged, or of an older format) can still be removed
    if (changes.every(([, record]) => record === undefined)) return this.kv.write(changes.map(([key]) => [key, undefined] as const));
    const masterKey = await this.keyForWrite();
    this.kv.write(changes.map(([key, record]) => [key, record === undefined ? undefined : seal(masterKey, JSON.stringify(record))] as const));
  }

  async write(changes: ReadonlyArray<readonly [string, Record<string, unknown> | undefined]>): Promise<void> {
    await this.locked(() => this.writeUnlocked(changes));
  }

  /** Reads, changes and writes records under the lock, so concurrent writers never lose updates. */
  async update<T>(fn: (tx: { get: <R = Record<string, unknown>>(key: string) => Promise<R | undefined> }) => Promise<{ changes: Array<readonly [string, Record<string, unknown> | undefined]>; result: T }>): Promise<T> {
    return this.locked(async () => {
      const { changes, result } = await fn({ get: (key) => this.get(key) });
      if (changes.length) await this.writeUnlocked(changes);
      return result;
    });
  }

  close(): void {
    this.kv.close();
  }
}
