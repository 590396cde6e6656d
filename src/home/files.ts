import { accessSync, chmodSync, closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { dirname, basename, join } from "node:path";
import { randomBytes } from "node:crypto";
import { StoreUnavailableError } from "../errors.js";

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** The path itself, or its nearest ancestor that can be seen: where a failure actually lies. */
export function nearestExisting(path: string): string {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

const ownedByOther = (uid: number) => process.getuid !== undefined && process.getuid() !== 0 && uid !== process.getuid();

/** Why a file could not be read or written, in words, and what to do (for any file the user names, or one under the home). */
export function fileProblem(err: unknown, action: "read" | "write" | "create", path: string): { reason: string; hint?: string } {
  const code = (err as NodeJS.ErrnoException).code;
  const subject = nearestExisting((err as NodeJS.ErrnoException).path ?? path);
  const name = subject === path ? "it" : subject;
  const st = existsSync(subject) ? statSync(subject) : undefined;
  if (code === "ENOENT") return { reason: "no such file" };
  if (st && !st.isDirectory() && (code === "ENOTDIR" || code === "EEXIST")) return { reason: `${subject} is a file, not a directory`, hint: `move the file ${subject} aside, or remove it` };
  if (st?.isDirectory() && code === "EISDIR") return { reason: `${name} is a directory, not a file`, hint: `move the directory ${subject} aside` };
  if (st && (code === "EACCES" || code === "EPERM")) {
    if (ownedByOther(st.uid)) {
      return { reason: `${name} belongs to another user (uid ${st.uid})`, hint: `fix the ownership of ${subject} (chown it to yourself), or point AUTHSOME_HOME at a home of your own` };
    }
    const mode = (st.mode & 0o777).toString(8);
    return { reason: `${name} is ${action === "read" ? "not readable" : "read-only"} for you (mode ${mode})`, hint: `give yourself access: chmod u+rw${st.isDirectory() ? "x" : ""} ${subject}` };
  }
  if (code === "EROFS") return { reason: `${name} is on a read-only file system`, hint: "point AUTHSOME_HOME at a writable location" };
  if (code === "ENOSPC") return { reason: "no space left on the device", hint: "free some space and try again" };
  return { reason: (err as Error).message };
}

/**
 * A failed read or write of a file under the home, as an error that says why in words (a file in
 * the way, another user's directory, a read-only file) and what to do, instead of an errno code.
 */
export function fileError(err: unknown, action: "read" | "write" | "create", path: string, label = ""): StoreUnavailableError {
  const { reason, hint } = fileProblem(err, action, path);
  return new StoreUnavailableError(`cannot ${action} ${label ? `${label} ` : ""}${path}: ${reason}`, { hint, cause: err });
}

/** True when this process may write path. */
export function isWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Fails with a fileError when this process cannot write path (a file, or a directory to create files in). */
export function assertWritable(path: string, label = ""): void {
  try {
    accessSync(path, constants.W_OK);
  } catch (err) {
    throw fileError(err, "write", path, label);
  }
}

/** Fails with a fileError when this process cannot write the existing file at path (a directory in its place included). */
export function assertWritableFile(path: string, label = ""): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY)); // no O_CREAT: a check writes nothing
  } catch (err) {
    throw fileError(err, "write", path, label);
  }
}

/**
 * Creates a directory (and parents) readable only by the owner. One that exists already loses
 * group and other access if it is ours (its owner bits are the owner's choice); another user's
 * directory is theirs to fix (doctor reports it).
 */
export function ensurePrivateDir(path: string): void {
  let st: Stats;
  const uid = process.getuid?.();
  try {
    if (mkdirSync(path, { recursive: true, mode: PRIVATE_DIR }) !== undefined) {
      chmodSync(path, PRIVATE_DIR); // the umask may have narrowed it
      return;
    }
    st = statSync(path);
    if (!(st.mode & 0o077)) return;
    if (uid === undefined || uid === 0 || st.uid === uid) return void chmodSync(path, st.mode & 0o700);
  } catch (err) {
    throw fileError(err, "create", path, "the directory");
  }
  // another user's directory that others may write to: whoever can write there could swap our
  // files or plant a provider definition, so credentials are never kept in it
  if (st.mode & 0o022) {
    throw new StoreUnavailableError(`cannot use ${path}: it belongs to another user (uid ${st.uid}) and others can write to it`, {
      hint: "point AUTHSOME_HOME at a directory of your own",
    });
  }
}

/**
 * Takes group and other access away from a file of ours (a store or key the Python implementation
 * made under a wider umask). Best effort: another user's file, or a read-only disk, is left as it
 * is (doctor reports it).
 */
export function narrowToOwner(path: string): void {
  try {
    const st = statSync(path);
    const uid = process.getuid?.();
    if (st.mode & 0o077 && (uid === undefined || uid === 0 || st.uid === uid)) chmodSync(path, st.mode & 0o700);
  } catch {
    // left for doctor to report
  }
}

/** Makes a directory's entries (a rename, a new link) durable; best effort, not supported everywhere. */
export function syncDirectory(dir: string): void {
  try {
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // not supported here: the entry is as durable as the file system makes it
  }
}

/**
 * Writes a file so that a crash at any point leaves either the old or the new content:
 * write a private temp file beside it, fsync, rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = PRIVATE_FILE): void {
  // a symlinked file (config.json kept in a dotfiles repository) is written where it points, and stays a link
  path = linkTarget(path);
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let made = false;
  try {
    const fd = openSync(tmp, "wx", mode);
    made = true;
    try {
      writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (made) rmSync(tmp, { force: true });
    throw fileError(err, "write", path);
  }
  syncDirectory(dir);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/** Where a symlink points (followed to the end), or the path itself. */
function linkTarget(path: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? realpathSync(path) : path;
  } catch {
    return path; // not there yet (or a dangling link, which the rename replaces)
  }
}
