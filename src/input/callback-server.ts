// The loopback HTTP server the browser is redirected to after authorization. It answers one
// good callback on one path, refuses other hosts (DNS rebinding) and hands back the query.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { AuthenticationError } from "../errors.js";
import { hostIsLoopback, htmlPage, listenOnLoopback } from "./loopback.js";

export const DEFAULT_CALLBACK_PORT = 7998;
export const CALLBACK_PATH = "/auth/callback/oauth";

export function redirectUriFor(port: number): string {
  return `http://127.0.0.1:${port}${CALLBACK_PATH}`;
}

export interface CallbackServer {
  redirectUri: string;
  /**
   * Resolves with the first callback's query once `check` accepts it; rejects with what
   * `check` throws (the browser then sees an error page).
   */
  result: Promise<URLSearchParams>;
  close(): void;
}

/** Checks a callback's query; throws to fail the login, or ForeignCallbackError to ignore it. */
export type CallbackCheck = (params: URLSearchParams) => void;

/**
 * A callback that does not belong to the login in progress (wrong state or request token): any
 * local process can send one, so it is refused and the login keeps waiting for the real one.
 */
export class ForeignCallbackError extends AuthenticationError {
  static override readonly errorName: string = "ForeignCallbackError";
}

export async function startCallbackServer(port: number, check: CallbackCheck, onForeign?: (err: ForeignCallbackError) => void): Promise<CallbackServer> {
  let settle!: { resolve: (p: URLSearchParams) => void; reject: (e: unknown) => void };
  const result = new Promise<URLSearchParams>((resolve, reject) => (settle = { resolve, reject }));
  // Callers race this promise against others; an unobserved rejection must not crash.
  result.catch(() => {});
  let done = false;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (!hostIsLoopback(req.headers.host, port)) return reply(res, 421, "Wrong host", "This address only answers on 127.0.0.1.");
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (req.method !== "GET" || url.pathname !== CALLBACK_PATH) return reply(res, 404, "Not found", "Nothing here.");
    if (done) return reply(res, 410, "Already handled", "This login has already finished; you can close this page.");
    try {
      check(url.searchParams);
      done = true;
      reply(res, 200, "Login received", "authsome received the authorization. You can close this page and return to the terminal.");
      settle.resolve(url.searchParams);
    } catch (err) {
      if (err instanceof ForeignCallbackError) {
        onForeign?.(err);
        return reply(res, 400, "Not this login", "This callback does not belong to the login authsome is waiting for; it was ignored.");
      }
      done = true;
      reply(res, 400, "Login failed", "authsome could not complete the login. See the terminal for details.");
      settle.reject(err);
    }
  });

  await listenOnLoopback(server, port, "login callback");

  return {
    redirectUri: redirectUriFor(port),
    result,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}

function reply(res: ServerResponse, status: number, title: string, text: string): void {
  htmlPage(res, status, title, `<p>${text}</p>`);
}
