import type Database from "better-sqlite3";
import { closeSync, existsSync, openSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { StoreUnavailableError } from "../errors.js";
import { ensurePrivateDir, PRIVATE_FILE } from "../home/files.js";

// Loaded with require: importing a CommonJS package from ESM costs a parse of its source on every start.
const SQLite = createRequire(import.meta.url)("better-sqlite3") as typeof Database;

// The per-profile SQLite table both implementations share: kv(key TEXT PRIMARY KEY, value TEXT NOT NULL), WAL mode.

export interface KvRow {
  key: string;
  value: string;
}

export class KvStore {
  private db: Database.Database | undefined;

  constructor(readonly path: string) {}

  get exists(): boolean {
    return this.db !== undefined || existsSync(this.path);
  }

  private open(create: boolean): Database.Database | undefined {
    if (this.db) return this.db;
    if (!existsSync(this.path)) {
      if (!create) return undefined;
      ensurePrivateDir(dirname(this.path));
      // SQLite gives its -wal and -shm files the database file's mode, so create it private first.
      closeSync(openSync(this.path, "a", PRIVATE_FILE));
    }
    try {
      const db = new SQLite(this.path);
      db.pragma("busy_timeout = 10000");
      db.pragma("journal_mode = WAL");
      db.exec("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      this.db = db;
      return db;
    } catch (err) {
      throw new StoreUnavailableError(`cannot open the store ${this.path}: ${(err as Error).message}`, {
        hint: "check that the file is a SQLite database and that you own it",
        cause: err,
      });
    }
  }

  get(key: string): string | undefined {
    const row = this.open(false)?.prepare("SELECT value FROM kv WHERE key = ?").get(key) as KvRow | undefined;
    return row?.value;
  }

  /** Rows whose key starts with prefix, in key order. */
  list(prefix: string): KvRow[] {
    const db = this.open(false);
    if (!db) return [];
    const escaped = prefix.replace(/[\\%_]/g, (c) => `\\${c}`);
    return db.prepare("SELECT key, value FROM kv WHERE key LIKE ? ESCAPE '\\' ORDER BY key").all(`${escaped}%`) as KvRow[];
  }

  /** True when any row exists (used to decide whether a master key may be created). */
  hasAny(): boolean {
    return this.open(false)?.prepare("SELECT 1 FROM kv LIMIT 1").get() !== undefined;
  }

  /** Applies puts (value) and deletes (undefined) in one transaction. */
  write(changes: ReadonlyArray<readonly [string, string | undefined]>): void {
    const db = this.open(true)!;
    const put = db.prepare("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    const del = db.prepare("DELETE FROM kv WHERE key = ?");
    db.transaction(() => {
      for (const [key, value] of changes) {
        if (value === undefined) del.run(key);
        else put.run(key, value);
      }
    })();
  }

  close(): void {
    this.db?.close();
    this.db = undefined;
  }
}
