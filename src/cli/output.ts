import { AuthsomeError, ExitCode } from "../errors.js";

// How the CLI talks: results on stdout (one JSON document with --json), everything else on stderr.
// Colour only on a terminal, never with --no-color or NO_COLOR.

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
}

export interface Streams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

const codes = { red: 31, green: 32, yellow: 33, cyan: 36, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof codes;

export class Output {
  constructor(
    readonly options: OutputOptions,
    readonly streams: Streams = { stdout: process.stdout, stderr: process.stderr },
  ) {}

  get json(): boolean {
    return this.options.json;
  }

  paint(text: string, colour: Colour): string {
    return this.options.color ? `\x1b[${codes[colour]}m${text}\x1b[0m` : text;
  }

  /** The command's result: JSON with --json, otherwise the human rendering. */
  result(data: unknown, human: () => string | string[]): void {
    if (this.options.json) {
      this.streams.stdout.write(JSON.stringify(data, null, 2) + "\n");
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length) this.streams.stdout.write(lines.join("\n") + "\n");
  }

  /** Raw text on stdout (export, inspect, --field): exactly what was asked for. */
  raw(text: string): void {
    this.streams.stdout.write(text.endsWith("\n") ? text : text + "\n");
  }

  /** Progress and confirmations on stderr; silent with --quiet or --json. */
  info(message: string): void {
    if (!this.options.quiet && !this.options.json) this.streams.stderr.write(message + "\n");
  }

  success(message: string): void {
    this.info(this.paint(message, "green"));
  }

  warn(message: string): void {
    if (!this.options.quiet) this.streams.stderr.write(this.paint(`warning: ${message}`, "yellow") + "\n");
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
      this.streams.stderr.write(this.paint(`error: ${message}`, "red") + "\n");
      if (hint) this.streams.stderr.write(`hint: ${hint}\n`);
    }
    return exitCode;
  }
}

/** Left-aligned columns, as `gh` prints lists. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}

export function colourEnabled(flagNoColor: boolean, env: NodeJS.ProcessEnv, stream: { isTTY?: boolean }): boolean {
  if (flagNoColor || (env.NO_COLOR !== undefined && env.NO_COLOR !== "")) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return Boolean(stream.isTTY);
}
