// A login driven by a program: the library's options become the LoginInteraction the flows use.
// Nothing here prints; the program decides what the person sees.
import { UsageError } from "../errors.js";
import type { DeviceCodePrompt, InputRequest, LoginHints, LoginInteraction } from "../auth/interaction.js";
import { openBrowser } from "../input/browser.js";

export type { DeviceCodePrompt, InputField, InputRequest } from "../auth/interaction.js";

export interface LoginCallbacks {
  /**
   * Show or open the authorization page (PKCE flows). The loopback callback still receives the
   * code, so the promise may resolve at once. Without it, $BROWSER (or xdg-open) is tried.
   */
  onAuthorizeUrl?: (url: string) => void | Promise<void>;
  /** Show the device code and where to enter it (device_code flow). Required for that flow. */
  onDeviceCode?: (prompt: DeviceCodePrompt) => void | Promise<void>;
  /**
   * Ask for values that must not travel through arguments (client id and secret, API key).
   * Without it, only the environment variables the definition names are read.
   */
  ask?: (request: InputRequest) => Promise<Record<string, string>>;
  /** Progress messages a person may want to see; dropped when absent. */
  onProgress?: (message: string) => void;
  /** Cancels the login (the callback server is closed, nothing is stored). */
  signal?: AbortSignal;
}

/** Hints in the library's words: its options, not the CLI's flags. */
const PROGRAM_HINTS: LoginHints = {
  force: "force: true",
  connection: "connection: NAME",
  profile: "profile: NAME",
  moreTime: "give more time with a larger timeoutMs",
  toBeAsked: "pass an ask callback to login()",
  again: () => "call login() again",
};

export function programInteraction(callbacks: LoginCallbacks, env: NodeJS.ProcessEnv): LoginInteraction {
  return {
    env,
    hints: PROGRAM_HINTS,
    say: (message) => callbacks.onProgress?.(message),
    signal: callbacks.signal,
    async authorize(url, service) {
      if (callbacks.onAuthorizeUrl) {
        await callbacks.onAuthorizeUrl(url);
        return {};
      }
      if (await openBrowser(env, url)) return {};
      throw new UsageError(`cannot show the authorization page of ${service}: no browser could be opened`, {
        hint: "pass onAuthorizeUrl to login() and show the URL to the person",
      });
    },
    async deviceCode(prompt) {
      if (!callbacks.onDeviceCode) {
        throw new UsageError("the device_code flow needs an onDeviceCode callback to show the code", { hint: "pass onDeviceCode to login()" });
      }
      await callbacks.onDeviceCode(prompt);
    },
    ...(callbacks.ask ? { ask: checkedAsk(callbacks.ask) } : {}),
  };
}

/** The program's `ask`, held to its contract: an object whose answers are strings. */
function checkedAsk(ask: NonNullable<LoginCallbacks["ask"]>): NonNullable<LoginCallbacks["ask"]> {
  return async (request) => {
    const answers: unknown = await ask(request);
    const names = request.fields.map((f) => f.name);
    const ok = typeof answers === "object" && answers !== null && Object.values(answers).every((v) => v === undefined || typeof v === "string");
    if (!ok) throw new UsageError("the ask callback must return an object of string answers", { hint: `answer ${names.join(", ")}: e.g. { ${names[0]}: "..." }` });
    return answers as Record<string, string>;
  };
}
