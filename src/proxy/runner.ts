import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, type Stats } from "node:fs";
import { constants, tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { AuthsomeError, ExitCode, type ExitCodeValue } from "../errors.js";

// The child: inherits stdio, gets SIGINT/SIGTERM/SIGHUP forwarded (unless the terminal sent them
// to it already), and its exit code (128+N when a signal killed it) becomes ours. The private temp
// dir goes away whatever happens.

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** The signals a terminal sends to its whole foreground process group (Ctrl-C, a hang-up). */
const FROM_TERMINAL: ReadonlySet<NodeJS.Signals> = new Set(["SIGINT", "SIGHUP"]);

/** The command could not be started: not found (127) or not executable (126), as a shell reports it. */
export class ChildStartError extends AuthsomeError {
  override readonly exitCode: ExitCodeValue;
  constructor(message: string, notFound: boolean) {
    super(message, { hint: notFound ? "check the command after `--`: is it installed and on PATH?" : "check the command after `--`: it must be an executable file" });
    this.exitCode = notFound ? ExitCode.commandNotFound : ExitCode.cannotExecute;
  }
}

/**
 * True when we are the foreground process group of a terminal: what the terminal signals then
 * reaches the child as well (it shares our group), and forwarding it would deliver it twice.
 */
function inForegroundOfTerminal(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // after "(comm) ": state ppid pgrp session tty_nr tpgid
    const [, , pgrp, , tty, tpgid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return tty !== "0" && tpgid === pgrp;
  } catch {
    return process.stdin.isTTY === true; // no /proc: a terminal on stdin is the best sign
  }
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Where `file` would be found (a path as given, else the first match on PATH), if it exists. */
function locate(file: string, env: NodeJS.ProcessEnv): string | undefined {
  const candidates = file.includes("/") ? [file] : (env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, file));
  return candidates.find((path) => statOf(path)?.isFile());
}

/** The interpreter named on a script's #! line. */
function interpreter(path: string): string | undefined {
  const head = Buffer.alloc(256);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const line = head.subarray(0, readSync(fd, head)).toString("utf8").split("\n")[0]!;
    return line.startsWith("#!") ? line.slice(2).trim().split(/\s+/)[0] : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Why `file` could not be started, in a shell's words. */
function startFailure(file: string, err: NodeJS.ErrnoException, env: NodeJS.ProcessEnv): ChildStartError {
  const what = `cannot run ${JSON.stringify(file)}`;
  if (err.code === "ENOENT") {
    // a file that is there but cannot be found: the interpreter on its #! line is missing
    const found = locate(file, env);
    const missing = found && interpreter(found);
    return missing ? new ChildStartError(`${what}: bad interpreter ${JSON.stringify(missing)}: no such file`, false) : new ChildStartError(`${what}: command not found`, true);
  }
  if (err.code === "EACCES") return new ChildStartError(`${what}: ${statOf(file)?.isDirectory() ? "is a directory" : "permission denied"}`, false);
  if (err.code === "ENOEXEC") return new ChildStartError(`${what}: not an executable format`, false);
  return new ChildStartError(`${what}: ${err.message}`, false);
}

/** A 0700 directory for the run's trust files; removed by the returned function (and at exit). */
export function privateTempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "authsome-run-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  process.once("exit", remove);
  return {
    dir,
    remove: () => {
      process.off("exit", remove);
      remove();
    },
  };
}

/** Runs the command to its end; resolves with the exit status to report. */
export function runChild(command: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...args] = command;
  return new Promise((resolve, reject) => {
    const child = spawn(file!, args, { stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => () => {
      if (FROM_TERMINAL.has(signal) && inForegroundOfTerminal()) return;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      done();
      reject(startFailure(file!, err, env));
    });
    child.once("exit", (code, signal) => {
      done();
      if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
}
