import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { isatty } from "node:tty";
import { AuthsomeError } from "../errors.js";
import { fileProblem } from "../home/files.js";
import { startFailure } from "./child-start.js";

// The child: inherits stdio, gets the signals that would end or prod a process forwarded (unless
// the terminal sent them to it already), and its exit code (128+N when a signal killed it) becomes
// ours. Those signals never end authsome first, so the proxy and the private temp dir go away
// whatever happens (short of SIGKILL).

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const;
/** The signals a terminal sends to its whole foreground process group (Ctrl-C, Ctrl-\\, a hang-up). */
const FROM_TERMINAL: ReadonlySet<NodeJS.Signals> = new Set(["SIGINT", "SIGQUIT", "SIGHUP"]);

/**
 * After a hang-up, the terminal is gone: Node 20 restoring its settings at exit fails an assertion
 * and aborts (nodejs/node#51519). Closing the terminal's descriptors last makes it skip them.
 */
function letGoOfTerminalAtExit(terminal: number[]): void {
  process.once("exit", () => {
    for (const fd of terminal) {
      try {
        closeSync(fd);
      } catch {
        // already gone
      }
    }
  });
}

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
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), "authsome-run-"));
  } catch (err) {
    const where = tmpdir();
    throw new AuthsomeError(`cannot make the run's private directory in ${where}: ${fileProblem(err, "write", where).reason}`, {
      hint: "set TMPDIR to a directory you can write to",
    });
  }
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
    // which of our stdio descriptors are a terminal (a hung-up one no longer says so)
    const terminal = [0, 1, 2].filter((fd) => isatty(fd));
    const child = spawn(file!, args, { stdio: "inherit", env });
    let hungUp = false;
    const forward = (signal: NodeJS.Signals) => () => {
      if (signal === "SIGHUP" && !hungUp) {
        hungUp = true;
        letGoOfTerminalAtExit(terminal);
      }
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
