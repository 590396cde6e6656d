import { linkSync, readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { StoreUnavailableError } from "../errors.js";
import type { EncryptionMode } from "../home/config.js";
import { fileError, narrowToOwner, syncDirectory, writeFileAtomic } from "../home/files.js";
import type { HomePaths } from "../home/paths.js";
import { withFileLock } from "./lock.js";

const KEY_BYTES = 32;
const KEYRING_SERVICE = "authsome";
const KEYRING_ACCOUNT = "master_key";

/** Where the key lives: master.key in local_key mode; keyring mode makes its key under keyring.lock. */
type KeyPaths = Pick<HomePaths, "masterKey" | "keyringLock">;

function decodeKey(text: string, where: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== KEY_BYTES) {
    throw new StoreUnavailableError(`the master key in ${where} is not 32 bytes of base64`, {
      hint: "restore the original key; records encrypted with it cannot be read without it",
    });
  }
  return key;
}

/**
 * Loads the master key. A missing key is created only when the caller says no encrypted
 * record exists yet; otherwise it is an error, since a new key would orphan the data.
 */
export async function loadMasterKey(mode: EncryptionMode, paths: KeyPaths, opts: { mayCreate: boolean }): Promise<Buffer> {
  return mode === "keyring" ? loadFromKeyring(paths.keyringLock, opts) : loadFromFile(paths.masterKey, opts);
}

function loadFromFile(path: string, opts: { mayCreate: boolean }): Buffer {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
      throw fileError(err, "read", path, "the master key");
    }
    if (!opts.mayCreate) {
      throw new StoreUnavailableError(`the master key ${path} is missing, and the store holds encrypted records`, {
        hint: `restore ${path} from a backup (or set AUTHSOME_HOME to the home it belongs to); authsome will not make a new key, which would orphan the stored credentials`,
      });
    }
    return createKeyFile(path);
  }
  narrowToOwner(path);
  let parsed: { key?: unknown };
  try {
    parsed = JSON.parse(text) as { key?: unknown };
  } catch {
    throw new StoreUnavailableError(`the master key file ${path} is not valid JSON`, {
      hint: "restore the original master.key from a backup",
    });
  }
  if (typeof parsed?.key !== "string") {
    throw new StoreUnavailableError(`the master key file ${path} has no "key" field`, {
      hint: "restore the original master.key from a backup",
    });
  }
  return decodeKey(parsed.key, path);
}

/** Creates master.key once; if another process won the race, its key is used. */
function createKeyFile(path: string): Buffer {
  const key = randomBytes(KEY_BYTES);
  const doc = {
    version: 1,
    key: key.toString("base64"),
    algorithm: "AES-256-GCM",
    note: "Local master key for authsome. Protect this file.",
  };
  // unique per call: worker threads of one process share its pid
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.new`;
  writeFileAtomic(tmp, JSON.stringify(doc, null, 2));
  try {
    linkSync(tmp, path); // fails if the key appeared meanwhile
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fileError(err, "create", path, "the master key");
    return loadFromFile(path, { mayCreate: false });
  } finally {
    rmSync(tmp, { force: true });
  }
  // records are encrypted with this key from now on: its link must survive a crash
  syncDirectory(dirname(path));
  return key;
}

interface KeyringEntry {
  getPassword(): string | null | undefined;
  setPassword(value: string): void;
}

async function keyringEntry(): Promise<KeyringEntry> {
  let mod: { Entry: new (service: string, account: string, options?: { linux?: { store?: string } }) => KeyringEntry };
  try {
    mod = (await import("@napi-rs/keyring" as string)) as typeof mod;
  } catch {
    throw new StoreUnavailableError("encryption mode is \"keyring\" but the optional keyring module (@napi-rs/keyring) is not installed", {
      hint: "install it with `npm install @napi-rs/keyring`, or set \"encryption\": {\"mode\": \"local_key\"} in config.json",
    });
  }
  // On Linux the module falls back, silently, to the kernel's keyring when no Secret Service
  // answers (a headless or SSH session): a key made there lives in memory only and is gone after a
  // reboot, with every credential encrypted under it; and the Python implementation, which keeps
  // the key in the Secret Service, would never see it. So the Secret Service or nothing.
  try {
    return new mod.Entry(KEYRING_SERVICE, KEYRING_ACCOUNT, { linux: { store: "secret-service" } });
  } catch (err) {
    throw keyringUnavailable(err);
  }
}

function keyringUnavailable(err: unknown): StoreUnavailableError {
  return new StoreUnavailableError(`encryption mode is "keyring" but the system keyring cannot be used (${(err as Error).message})`, {
    hint: "start a keyring service (Secret Service over D-Bus on Linux), or set \"encryption\": {\"mode\": \"local_key\"} in config.json",
    cause: err,
  });
}

function storedInKeyring(entry: KeyringEntry): Buffer | undefined {
  let stored: string | null | undefined;
  try {
    stored = entry.getPassword();
  } catch (err) {
    throw keyringUnavailable(err);
  }
  return stored ? decodeKey(stored, "the system keyring (authsome/master_key)") : undefined;
}

async function loadFromKeyring(lockFile: string, opts: { mayCreate: boolean }): Promise<Buffer> {
  const entry = await keyringEntry();
  const stored = storedInKeyring(entry);
  if (stored) return stored;
  if (!opts.mayCreate) {
    throw new StoreUnavailableError("the master key is missing from the system keyring, and the store holds encrypted records", {
      hint: "restore the keyring entry authsome/master_key; authsome will not make a new key, which would orphan the stored credentials",
    });
  }
  // a keyring entry is simply overwritten: two first writes at once (agents in two profiles)
  // would each make a key, and the records sealed with the one overwritten would be lost
  return withFileLock(lockFile, () => {
    const made = storedInKeyring(entry);
    if (made) return made;
    const key = randomBytes(KEY_BYTES);
    try {
      entry.setPassword(key.toString("base64"));
    } catch (err) {
      throw keyringUnavailable(err);
    }
    return key;
  });
}
