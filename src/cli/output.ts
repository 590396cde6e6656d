import { AuthsomeError, ExitCode } from "../errors.js";

// How the CLI talks: results on stdout (one JSON document with --json), everything else on stderr.
// Colour only where that very stream is a terminal, never with --no-color or NO_COLOR.

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** Colour per stream: `list > file` on a terminal colours stderr but not the file. */
  color: { stdout: boolean; stderr: boolean };
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const codes = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof codes;

const SGR = /\x1b\[[0-9;]*m/g;

/** Text as a terminal shows it: without colour sequences. */
export const stripColour = (text: string): string => text.replace(SGR, "");

export class Output {
  constructor(
    readonly options: OutputOptions,
    readonly streams: Streams = { stdout: process.stdout, stderr: process.stderr },
  ) {}

  get json(): boolean {
    return this.options.json;
  }

  /** Painted text may end up on either stream; the one without colour gets it unpainted (see human). */
  paint(text: string, colour: Colour): string {
    return this.options.color.stdout || this.options.color.stderr ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text;
  }

  /** The command's result: JSON with --json, otherwise the human rendering. */
  result(data: unknown, human: () => string | string[]): void {
    if (this.options.json) {
      this.streams.stdout.write(JSON.stringify(data, null, 2) + "\n");
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length) this.human("stdout", lines.join("\n") + "\n");
  }

  /** Raw text on stdout (export, inspect, --field): exactly what was asked for. */
  raw(text: string): void {
    this.streams.stdout.write(text.endsWith("\n") ? text : text + "\n");
  }

  /** Progress and confirmations on stderr; silent with --quiet or --json. */
  info(message: string): void {
    if (!this.options.quiet && !this.options.json) this.human("stderr", message + "\n");
  }

  success(message: string): void {
    this.info(this.paint(message, "green"));
  }

  warn(message: string): void {
    if (!this.options.quiet) this.human("stderr", this.paint(`warning: ${message}`, "yellow") + "\n");
  }

  /** Reports a failure and returns its exit code. With --json the error is the stdout document. */
  error(err: unknown): number {
    const known = err instanceof AuthsomeError;
    const exitCode = known ? err.exitCode : ExitCode.generic;
    const message = err instanceof Error ? err.message : String(err);
    const hint = known ? err.hint : undefined;
    if (this.options.json) {
      const body = { error: { code: known ? err.code : "internal", message, ...(hint ? { hint } : {}), exit_code: exitCode } };
      this.streams.stdout.write(JSON.stringify(body, null, 2) + "\n");
    } else {
      this.human("stderr", this.paint(`error: ${message}`, "red") + "\n" + (hint ? `hint: ${hint}\n` : ""));
    }
    return exitCode;
  }

  /** Human text; a stream without colour gets none (painted here or carried in by data). */
  private human(stream: keyof Streams, text: string): void {
    this.streams[stream].write(this.options.color[stream] ? text : stripColour(text));
  }
}

/** A connection's account as list and whoami show it: the label with the definition's prefix (@handle), else the id. */
export function accountLabel(account: { id: string | null; label: string | null } | null | undefined, prefix = ""): string {
  if (!account) return "";
  if (account.label) return `${prefix}${account.label}`;
  return account.id ?? "";
}

/** Left-aligned columns, as `gh` prints lists; a cell's width is what the terminal shows. */
export function table(header: string[], rows: string[][]): string[] {
  const width = (cell: string | undefined) => stripColour(cell ?? "").length;
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  const pad = (cell: string, i: number) => cell + " ".repeat(widths[i]! - width(cell));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, i))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

function colourEnabled(flagNoColor: boolean, env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  if (flagNoColor || (env.NO_COLOR !== undefined && env.NO_COLOR !== "")) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}

/** Each stream's colour, decided by its own terminal. */
export function streamColours(flagNoColor: boolean, env: NodeJS.ProcessEnv, streams: Streams): OutputOptions["color"] {
  return { stdout: colourEnabled(flagNoColor, env, streams.stdout), stderr: colourEnabled(flagNoColor, env, streams.stderr) };
}
