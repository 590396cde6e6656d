// A one-page form on loopback for values that must not go through argv (client secrets, API
// keys), for people who would rather paste into a browser than into a terminal. The page's URL
// carries a one-time token; the form carries a CSRF token; only 127.0.0.1/localhost Host headers
// are answered (DNS rebinding); every answer is no-store; one good submission shuts it down.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { InputField, InputRequest } from "../auth/interaction.js";
import { escapeHtml as escape, hostIsLoopback, htmlPage as page, listenOnLoopback, sameToken } from "./loopback.js";

const MAX_BODY_BYTES = 64 * 1024;

export interface SecretForm {
  /** Open this in the browser; it works once. */
  url: string;
  /** The submitted values, after every field's check passed. */
  values: Promise<Record<string, string>>;
  close(): void;
}

export async function startSecretForm(port: number, request: InputRequest): Promise<SecretForm> {
  const pageToken = randomBytes(24).toString("base64url");
  const csrf = randomBytes(24).toString("base64url");
  const path = `/input/${pageToken}`;
  let opened = false;
  let settle!: (values: Record<string, string>) => void;
  const values = new Promise<Record<string, string>>((resolve) => (settle = resolve));

  const server = createServer((req, res) => {
    if (!hostIsLoopback(req.headers.host, port)) return page(res, 421, "Wrong host", "<p>This address only answers on 127.0.0.1.</p>");
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    if (url.pathname !== path) return page(res, 404, "Not found", "<p>Nothing here.</p>");
    if (req.method === "GET") {
      // The link works once: a copy of it in history or another tab gets nothing.
      if (opened) return page(res, 410, "Already opened", "<p>This form was already opened. Run the command again for a new one.</p>");
      opened = true;
      return page(res, 200, request.title, form(request, path, csrf));
    }
    if (req.method !== "POST") return page(res, 405, "Not allowed", "<p>Only the form may be sent here.</p>");
    void receive(req, res);
  });

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) {
      return page(res, 403, "Refused", "<p>This form only accepts submissions from its own page.</p>");
    }
    if (!String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
      return page(res, 415, "Refused", "<p>Send the form from its page.</p>");
    }
    const body = await readBody(req).catch(() => undefined);
    if (body === undefined) return page(res, 413, "Too large", "<p>The submission was too large.</p>");
    const params = new URLSearchParams(body);
    if (!sameToken(params.get("csrf") ?? "", csrf)) {
      return page(res, 403, "Refused", "<p>This submission did not come from the form authsome showed. Nothing was saved.</p>");
    }
    const answers: Record<string, string> = {};
    const problems: string[] = [];
    for (const field of request.fields) {
      const value = (params.get(field.name) ?? "").trim();
      if (!value && !field.optional) problems.push(`${field.label} is empty`);
      else if (value && /[\r\n]/.test(value)) problems.push(`${field.label} contains a line break`);
      else {
        const problem = value ? field.check?.(value) : undefined;
        if (problem) problems.push(problem);
      }
      answers[field.name] = value;
    }
    if (problems.length) {
      // The same page again, with what was wrong; nothing typed is sent back.
      return page(res, 400, request.title, `<p class="error">${problems.map(escape).join("<br>")}</p>` + form(request, path, csrf));
    }
    page(res, 200, "Received", "<p>authsome received it. You can close this page and return to the terminal.</p>");
    close();
    settle(answers);
  }

  function close(): void {
    server.close();
    server.closeAllConnections();
  }

  await listenOnLoopback(server, port, "local form");
  return { url: `http://127.0.0.1:${port}${path}`, values, close };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function form(request: InputRequest, action: string, csrf: string): string {
  const inputs = request.fields.map((f: InputField) => {
    const type = f.secret ? "password" : "text";
    const required = f.optional ? "" : " required";
    return `<label>${escape(f.label)}${f.optional ? " (optional)" : ""}<br><input type="${type}" name="${escape(f.name)}" autocomplete="off" spellcheck="false"${required}></label>`;
  });
  return `<form method="post" action="${action}"><input type="hidden" name="csrf" value="${csrf}">${inputs.join("<br>")}<br><button type="submit" id="submit">Save</button></form>`;
}
