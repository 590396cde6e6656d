import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants } from "node:os";
import { AuthsomeError } from "../errors.js";

// The child: inherits stdio, gets SIGINT/SIGTERM/SIGHUP forwarded, and its exit code (128+N
// when a signal killed it) becomes ours. The private temp dir goes away whatever happens.

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** The command could not be started (not found: 127, not executable: 126). */
export class ChildStartError extends AuthsomeError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message, { hint: "check the command after `--`" });
  }
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
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    };
    const handlers = FORWARDED.map((signal) => [signal, forward(signal)] as const);
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const done = () => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
    };
    child.once("error", (err: NodeJS.ErrnoException) => {
      done();
      const status = err.code === "ENOENT" ? 127 : 126;
      reject(new ChildStartError(`cannot run "${file}": ${err.code === "ENOENT" ? "command not found" : (err.code ?? "failed to start")}`, status));
    });
    child.once("exit", (code, signal) => {
      done();
      if (signal) resolve(128 + (constants.signals[signal] ?? 0));
      else resolve(code ?? 1);
    });
  });
}
