import { closeSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { delimiter, join } from "node:path";
import { AuthsomeError, ExitCode, type ExitCodeValue } from "../errors.js";

// Why the child could not be started, told as a shell tells it: "command not found" or a missing
// interpreter (127, as bash and dash exit), or permission denied, a directory (126).

/** The command could not be started: not found (127) or not executable (126), as a shell reports it. */
export class ChildStartError extends AuthsomeError {
  static override readonly errorName: string = "ChildStartError";
  override readonly exitCode: ExitCodeValue;
  constructor(message: string, notFound: boolean, hint?: string) {
    super(message, { hint: hint ?? (notFound ? "check the command after `--`: is it installed and on PATH?" : "check the command after `--`: it must be an executable file") });
    this.exitCode = notFound ? ExitCode.commandNotFound : ExitCode.cannotExecute;
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
    // as the kernel reads it: a CR (Windows line endings) is part of the name
    return line.startsWith("#!") ? line.slice(2).replace(/^[ \t]+/, "").split(/[ \t]+/)[0] : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Why `file` could not be started, in a shell's words. */
export function startFailure(file: string, err: NodeJS.ErrnoException, env: NodeJS.ProcessEnv): ChildStartError {
  const what = `cannot run ${JSON.stringify(file)}`;
  if (err.code === "ENOENT") {
    // a file that is there but cannot be found: the interpreter on its #! line is missing
    const found = locate(file, env);
    const missing = found && interpreter(found);
    if (!missing) return new ChildStartError(`${what}: command not found`, true);
    const crlf = missing.endsWith("\r") ? "the script has Windows (CRLF) line endings: convert them (dos2unix)" : undefined;
    return new ChildStartError(`${what}: bad interpreter ${JSON.stringify(missing)}: no such file`, true, crlf ?? "check the #! line of the script after `--`: its interpreter must be installed");
  }
  if (err.code === "EACCES") return new ChildStartError(`${what}: ${statOf(file)?.isDirectory() ? "is a directory" : "permission denied"}`, false);
  if (err.code === "ENOEXEC") return new ChildStartError(`${what}: not an executable format`, false);
  return new ChildStartError(`${what}: ${err.message}`, false);
}
