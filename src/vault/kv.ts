import type Database from "better-sqlite3";
import { closeSync, existsSync, openSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { StoreUnavailableError } from "../errors.js";
import { assertWritable, ensurePrivateDir, fileError, isWritable, narrowToOwner, PRIVATE_FILE } from "../home/files.js";

// Loaded with require: importing a CommonJS package from ESM costs a parse of its source on every start.
const SQLite = createRequire(import.meta.url)("better-sqlite3") as typeof Database;

// The per-profile SQLite table both implementations share: kv(key TEXT PRIMARY KEY, value TEXT NOT NULL), WAL mode.

export interface KvRow {
  key: string;
  value: string;
}

type SqliteFailure = Error & { code?: string };

/** Whether the kv table exists (a store file can be there before its first write made the table). */
const KV_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kv'";

export class KvStore {
  private db: Database.Database | undefined;
  /** What the open connection may do: read in place, read an in-memory copy, or write. */
  private access: "read" | "copy" | "write" = "read";
  private hasTable = false;
  /** close() was called: the file is closed again after every later use. */
  private closed = false;
  /** fileState() when the in-memory copy was taken. */
  private copiedState: string | undefined;

  constructor(readonly path: string) {}

  private unavailable(err: unknown, action: string): StoreUnavailableError {
    const code = (err as SqliteFailure).code ?? "";
    const hint =
      code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT"
        ? `${this.path} is not a readable SQLite database; restore it from a backup, or move it aside to start an empty store`
        : "check that the file and its directory are yours and writable, and that the disk has room";
    return new StoreUnavailableError(`cannot ${action} the store ${this.path}: ${(err as Error).message}`, { hint, cause: err });
  }

  /**
   * The database for reads, or undefined while nothing is stored (no file, or no kv table yet).
   * Reading writes nothing: no schema, no journal mode. A store we cannot write (a read-only file,
   * another user's home) is read from a copy, since SQLite would leave -wal and -shm files beside it.
   */
  private forRead(): Database.Database | undefined {
    // a copy is only as new as the file was: the owner may have written since (a refresh, a login)
    if (this.access === "copy" && this.fileState() !== this.copiedState) this.drop();
    if (!this.db) {
      if (!existsSync(this.path)) return undefined;
      this.db = (isWritable(this.path) && this.openInPlace()) || this.openCopy();
    }
    this.hasTable ||= this.db.prepare(KV_TABLE).get() !== undefined;
    return this.hasTable ? this.db : undefined;
  }

  /** The file opened where it is; undefined when SQLite cannot share it (no -shm file can be made beside it). */
  private openInPlace(): Database.Database | undefined {
    let db: Database.Database | undefined;
    try {
      db = new SQLite(this.path, { fileMustExist: true });
      db.pragma("busy_timeout = 10000");
      this.hasTable = db.prepare(KV_TABLE).get() !== undefined; // the first read is where a read-only directory shows
      this.access = "read";
      return db;
    } catch (err) {
      db?.close();
      if ((err as SqliteFailure).code === "SQLITE_READONLY_DIRECTORY" || (err as SqliteFailure).code === "SQLITE_CANTOPEN") return undefined;
      throw this.unavailable(err, "open");
    }
  }

  /**
   * The store read into memory, for one that cannot be opened in place without writing. The copy
   * holds every record only when no write waits in the -wal file, so then it is refused.
   */
  private openCopy(): Database.Database {
    const wal = `${this.path}-wal`;
    if (existsSync(wal) && statSync(wal).size > 0) {
      throw new StoreUnavailableError(`cannot read the store ${this.path}: it is not writable for you, and ${wal} holds writes not yet merged into it`, {
        hint: `run authsome once as the owner of ${dirname(this.path)} (which merges them), or make the store and its directory writable for you`,
      });
    }
    // read without a lock: a write during the read shows as a changed file, and the read is done again
    let bytes: Buffer;
    let state: string;
    let tries = 0;
    do {
      state = this.fileState();
      try {
        bytes = readFileSync(this.path);
      } catch (err) {
        throw fileError(err, "read", this.path, "the store");
      }
    } while (state !== this.fileState() && ++tries < 5);
    this.copiedState = state;
    bytes[18] = bytes[19] = 1; // header: rollback journal instead of WAL, which an in-memory database cannot use
    try {
      const db = new SQLite(bytes, { readonly: true });
      this.access = "copy";
      return db;
    } catch (err) {
      throw this.unavailable(err, "read");
    }
  }

  /** What the store file and its -wal look like now (size and time), to tell whether a copy of it is still current. */
  private fileState(): string {
    const st = statSync(this.path, { throwIfNoEntry: false });
    const wal = statSync(`${this.path}-wal`, { throwIfNoEntry: false });
    return `${st?.size}:${st?.mtimeMs}:${wal?.size}:${wal?.mtimeMs}`;
  }

  /** The database for writes: created private if missing, in WAL mode, with the kv table. */
  private forWrite(): Database.Database {
    if (this.db && this.access === "write") return this.db;
    if (this.access === "copy") this.drop();
    if (!existsSync(this.path)) {
      ensurePrivateDir(dirname(this.path));
      // SQLite gives its -wal and -shm files the database file's mode, so create it private first.
      try {
        closeSync(openSync(this.path, "a", PRIVATE_FILE));
      } catch (err) {
        throw fileError(err, "create", this.path, "the store");
      }
    }
    assertWritable(this.path, "the store");
    // SQLite makes its -wal and -shm files with the store's mode: a store made under a wider umask is narrowed first
    narrowToOwner(this.path);
    try {
      const db = this.db ?? new SQLite(this.path, { fileMustExist: true });
      this.db = db;
      db.pragma("busy_timeout = 10000");
      db.pragma("journal_mode = WAL");
      db.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      this.access = "write";
      this.hasTable = true;
      return db;
    } catch (err) {
      throw this.unavailable(err, "write");
    }
  }

  get(key: string): string | undefined {
    return this.use(() => (this.forRead()?.prepare("SELECT value FROM kv WHERE key = ?").get(key) as KvRow | undefined)?.value);
  }

  /** Rows whose key starts with prefix, in key order. Names are case-sensitive, so the match is too (LIKE's is not). */
  list(prefix: string): KvRow[] {
    return this.use(() => {
      const db = this.forRead();
      if (!db) return [];
      return db.prepare("SELECT key, value FROM kv WHERE substr(key, 1, length(@prefix)) = @prefix ORDER BY key").all({ prefix }) as KvRow[];
    });
  }

  /**
   * A mark that changes when another connection (another process) has written the store since:
   * SQLite's data_version where the file is open in place, else the file's sizes and times.
   */
  changeMark(): string {
    return this.use(() => {
      const db = this.forRead();
      return db && this.access !== "copy" ? `v${db.pragma("data_version", { simple: true }) as number}` : this.fileState();
    });
  }

  /** True when any key starts with prefix (any row at all for ""). */
  hasAny(prefix = ""): boolean {
    return this.use(() => this.forRead()?.prepare("SELECT 1 FROM kv WHERE substr(key, 1, length(@prefix)) = @prefix LIMIT 1").get({ prefix }) !== undefined);
  }

  /** Applies puts (value) and deletes (undefined) in one transaction. */
  write(changes: ReadonlyArray<readonly [string, string | undefined]>): void {
    this.use(() => {
      const db = this.forWrite();
      const put = db.prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
      const del = db.prepare("DELETE FROM kv WHERE key = ?");
      try {
        db.transaction(() => {
          for (const [key, value] of changes) {
            if (value === undefined) del.run(key);
            else put.run(key, value);
          }
        })();
      } catch (err) {
        throw this.unavailable(err, "write");
      }
    });
  }

  /** One use of the database; once the store was closed, the file is closed again after it. */
  private use<T>(fn: () => T): T {
    try {
      return fn();
    } finally {
      if (this.closed) this.drop();
    }
  }

  /**
   * Closes the file. A use after this (a call still running when its owner closed the store) opens
   * it for that use only, so no handle outlives the close.
   */
  close(): void {
    this.closed = true;
    this.drop();
  }

  /** Lets go of the open database (it is opened again on the next use). */
  private drop(): void {
    this.db?.close();
    this.db = undefined;
    this.access = "read";
    this.hasTable = false;
  }
}

/** Whether the store file at path holds a key starting with prefix (any key for ""), opened for this look only. */
export function storeHolds(path: string, prefix = ""): boolean {
  const kv = new KvStore(path);
  try {
    return kv.hasAny(prefix);
  } finally {
    kv.close();
  }
}
