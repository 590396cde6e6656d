import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { startFailure } from "./child-start.js";

// The child: inherits stdio, gets SIGINT/SIGTERM/SIGHUP forwarded (unless the terminal sent them
// to it already), and its exit code (128+N when a signal killed it) becomes ours. The private temp
// dir goes away whatever happens.

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
/** The signals a terminal sends to its whole foreground process group (Ctrl-C, a hang-up). */
const FROM_TERMINAL: ReadonlySet<NodeJS.Signals> = new Set(["SIGINT", "SIGHUP"]);

/** A process's group and its terminal's foreground group, from /proc (Linux); undefined elsewhere. */
function groups(pid: number): { pgrp: string; foreground: string; tty: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // after "(comm) ": state ppid pgrp session tty_nr tpgid
    const [, , pgrp, , tty, foreground] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pgrp: pgrp!, foreground: foreground!, tty: tty! };
  } catch {
    return undefined;
  }
}

/**
 * True when the terminal has sent this signal to the child itself: the child is in the terminal's
 * foreground process group (as it is when the run is a foreground job, sharing our group), and a
 * terminal signals that whole group. Forwarding it then would deliver it twice. A child that made
 * a group of its own (`timeout` does) gets it from us.
 */
function terminalReachedChild(child: number): boolean {
  const info = groups(child);
  if (!info) return !existsSync("/proc/self") && process.stdin.isTTY === true; // no /proc: a terminal on stdin is the best sign
  return info.tty !== "0" && info.pgrp === info.foreground;
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
      if (FROM_TERMINAL.has(signal) && child.pid !== undefined && terminalReachedChild(child.pid)) return;
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
