// The loopback HTTP server the browser is redirected to after authorization. It answers one
// good callback on one path, refuses other hosts (DNS rebinding) and hands back the query.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
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

/** Checks a callback's query; throws to fail the login. */
export type CallbackCheck = (params: URLSearchParams) => void;

export async function startCallbackServer(port: number, check: CallbackCheck): Promise<CallbackServer> {
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
    done = true;
    try {
      check(url.searchParams);
      reply(res, 200, "Login received", "authsome received the authorization. You can close this page and return to the terminal.");
      settle.resolve(url.searchParams);
    } catch (err) {
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
