// What the local pages (login callback, secret form) share: they listen on 127.0.0.1 only,
// answer only loopback Host headers (DNS rebinding), and send pages nothing may cache or frame.
import { timingSafeEqual } from "node:crypto";
import type { Server, ServerResponse } from "node:http";
import { UsageError } from "../errors.js";

/** Compares a token a request carried with the expected one in constant time. */
export function sameToken(got: string, want: string): boolean {
  const a = Buffer.from(got);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hostIsLoopback(host: string | undefined, port: number): boolean {
  if (!host) return false;
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  return allowed.includes(host.toLowerCase());
}

/** Listens on 127.0.0.1:port; a busy port is a usage error naming the option that picks another. */
export function listenOnLoopback(server: Server, port: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES") {
        reject(
          new UsageError(`the ${what} port ${port} on 127.0.0.1 is busy or not allowed`, {
            hint: "pick another port with --port (or AUTHSOME_CALLBACK_PORT), and register that redirect URI with the provider",
          }),
        );
      } else reject(err);
    });
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

/** A small HTML page; `bodyHtml` must already be escaped. */
export function htmlPage(res: ServerResponse, status: number, title: string, bodyHtml: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on the form post
    "referrer-policy": "same-origin",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    connection: "close",
  });
  res.end(
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
      `<style>body{font-family:sans-serif;max-width:32em;margin:3em auto}input{width:100%}.error{color:#b00}</style></head>` +
      `<body><h1>${escapeHtml(title)}</h1>${bodyHtml}</body></html>`,
  );
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
