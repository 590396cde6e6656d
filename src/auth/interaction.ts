// What a login needs from the person in front of it. The CLI answers with the terminal, the
// browser and the local form (src/input/terminal-interaction.ts); a program using the library
// answers with its own callbacks. Flows never touch stdin, stdout or a browser directly.

import { AuthenticationError } from "../errors.js";

/** How long a login waited, for its timeout message: "3 s", or "300 ms" under a second. */
export function waitedFor(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/** The one error of a login whose signal was aborted. */
export function loginCancelled(): AuthenticationError {
  return new AuthenticationError("the login was cancelled");
}

/** The longest a login waits for the person: a day (a timer cannot wait past 2^31-1 ms, about 24.8 days). */
export const MAX_LOGIN_WAIT_SECONDS = 86_400;

/**
 * What ends a login's wait besides its answer: the timeout ("<what> within 5 s") and, when given,
 * the signal. `clear` stops the clock and lets go of the signal once the wait is over (a program
 * may pass one signal to many logins).
 */
export function loginDeadlines(timeoutMs: number, what: string, hints: LoginHints, signal?: AbortSignal): { waits: Promise<never>[]; clear: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const waits: Promise<never>[] = [
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AuthenticationError(`${what} within ${waitedFor(timeoutMs)}`, { hint: `run the login again, or ${hints.moreTime}` })), timeoutMs);
    }),
  ];
  if (signal) {
    waits.push(
      new Promise<never>((_, reject) => {
        onAbort = () => reject(loginCancelled());
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
      }),
    );
  }
  return {
    waits,
    clear: () => {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    },
  };
}

export interface InputField {
  /** Key of the answer. */
  name: string;
  label: string;
  /** Masked in prompts and forms. */
  secret: boolean;
  /** May be left empty (a public client has no secret). */
  optional?: boolean;
  /** An error message when the value does not fit; checked where the value is received. */
  check?: (value: string) => string | undefined;
}

export interface InputRequest {
  /** What is being asked for, e.g. "GitHub OAuth client". */
  title: string;
  fields: InputField[];
}

export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  expiresIn?: number;
}

export interface AuthorizeHandle {
  /** A redirect URL the person pasted (no browser could be opened); never resolves otherwise. */
  pasted?: Promise<string>;
  /** Stops listening for a paste. */
  stop?: () => void;
}

/** How hints tell whoever runs the login to change it: the CLI names its flags, the library its options. */
export interface LoginHints {
  /** Replacing what is there: "--force". */
  force: string;
  /** Another connection: "--connection NAME". */
  connection: string;
  /** Another profile: "--profile NAME". */
  profile: string;
  /** A longer wait: "give more time with --timeout SECONDS". */
  moreTime: string;
  /** Where the values can be asked for: "run the login in a terminal". */
  toBeAsked: string;
  /** Trying again, given the CLI command that logs in the same way. */
  again(command: string): string;
}

export const CLI_HINTS: LoginHints = {
  force: "--force",
  connection: "--connection NAME",
  profile: "--profile NAME",
  moreTime: "give more time with --timeout SECONDS",
  toBeAsked: "run the login in a terminal",
  again: (command) => `run \`${command}\` again`,
};

export interface LoginInteraction {
  env: NodeJS.ProcessEnv;
  /** How hints name what to change. */
  hints: LoginHints;
  /** Progress for the person. */
  say(message: string): void;
  /** Whether `authorize` will try to open a browser here (OAuth 1.0a picks the PIN flow when it will not). Unknown when absent. */
  canOpenBrowser?: () => boolean;
  /**
   * Send the person to an authorization page (browser, or print it and accept a pasted answer):
   * the redirect URL it ends on, or, for `expects: "pin"`, the PIN it shows.
   */
  authorize(url: string, service: string, expects?: "redirect" | "pin"): Promise<AuthorizeHandle>;
  /** Show a device code to enter at the verification page. */
  deviceCode(prompt: DeviceCodePrompt, service: string): Promise<void>;
  /** Ask for values that must not go through argv; undefined when nobody can be asked. */
  ask?: (request: InputRequest) => Promise<Record<string, string>>;
  signal?: AbortSignal;
}
