// Every failure authsome reports is one of these: a category with a documented exit code,
// a message that names what failed, and a hint that says what to do next. Never a secret.

export const ExitCode = {
  ok: 0,
  generic: 1,
  usage: 2,
  providerNotFound: 3,
  authFailed: 4,
  credentialMissing: 5,
  refreshFailed: 6,
  storeUnavailable: 7,
  /** `run`: the command exists but cannot be executed (as a shell reports it). */
  cannotExecute: 126,
  /** `run`: the command was not found (as a shell reports it). */
  commandNotFound: 127,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class AuthsomeError extends Error {
  /** The class's name, written out: a bundler that renames classes must not change `name` or `code`. */
  static readonly errorName: string = "AuthsomeError";
  readonly exitCode: ExitCodeValue = ExitCode.generic;
  readonly hint: string | undefined;
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = (new.target as typeof AuthsomeError).errorName;
    this.hint = options.hint;
  }
  /** Stable code for --json output. */
  get code(): string {
    return this.name.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
  }
}

export class UsageError extends AuthsomeError {
  static override readonly errorName: string = "UsageError";
  override readonly exitCode = ExitCode.usage;
}
export class ProviderNotFoundError extends AuthsomeError {
  static override readonly errorName: string = "ProviderNotFoundError";
  override readonly exitCode = ExitCode.providerNotFound;
}
export class AuthenticationError extends AuthsomeError {
  static override readonly errorName: string = "AuthenticationError";
  override readonly exitCode = ExitCode.authFailed;
}
export class CredentialMissingError extends AuthsomeError {
  static override readonly errorName: string = "CredentialMissingError";
  override readonly exitCode = ExitCode.credentialMissing;
}
export class RefreshError extends AuthsomeError {
  static override readonly errorName: string = "RefreshError";
  override readonly exitCode = ExitCode.refreshFailed;
}
export class StoreUnavailableError extends AuthsomeError {
  static override readonly errorName: string = "StoreUnavailableError";
  override readonly exitCode = ExitCode.storeUnavailable;
}
/** A provider definition that does not validate; the message names the file and JSON path. */
export class ProviderDefinitionError extends UsageError {
  static override readonly errorName: string = "ProviderDefinitionError";
}
