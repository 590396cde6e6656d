// Shared set-up for the login tests: a user provider definition for the local oidc peer,
// and a BROWSER program that only writes the URL it was given to a file.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { OidcServer } from "../peers/oidc.js";
import assert from "node:assert/strict";
import { LAUNCH_TARGET_JS, cliAsync, emptyHome, tempDir, writeProvider } from "../helpers.js";
import { localIdpDefinition } from "./oidc-home.js";

/** A home with the "localidp" definition (device flow, identity); `oauth` and `rest` override its parts. */
export function homeWithProvider(server: OidcServer, oauth: Record<string, unknown> = {}, rest: Record<string, unknown> = {}): string {
  const home = emptyHome();
  writeProvider(
    home,
    localIdpDefinition(
      server,
      {
        device_authorization_url: server.deviceAuthorizationEndpoint,
        scopes: ["openid", "offline_access", "profile"],
        client_id_env: "LOCALIDP_CLIENT_ID",
        client_secret_env: "LOCALIDP_CLIENT_SECRET",
        ...oauth,
      },
      { flows: ["device_code"], identity: { url: server.userinfoEndpoint, id_path: "sub", label_path: "email" }, ...rest },
    ),
  );
  return home;
}

/**
 * A BROWSER program recording each URL it is asked to open, one per line; `url(n)` waits for the
 * n-th (from 0). `argv()`: the arguments it was started with, as any user of the machine sees them.
 */
export function recordingBrowser(): { command: string; url: (index?: number, timeoutMs?: number) => Promise<string>; opened: () => number; argv: () => string[] } {
  const dir = tempDir("authsome-browser-");
  const out = join(dir, "urls.txt");
  const args = join(dir, "argv.txt");
  const command = join(dir, "browser");
  writeFileSync(
    command,
    `#!${process.execPath}\n${LAUNCH_TARGET_JS}\nconst fs = require("node:fs");\nfs.appendFileSync(${JSON.stringify(args)}, process.argv.slice(2).join(" ") + "\\n");\nfs.appendFileSync(${JSON.stringify(out)}, launchTarget(process.argv[2]) + "\\n");\n`,
  );
  chmodSync(command, 0o755);
  const read = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
  const lines = () => read(out);
  return {
    command,
    argv: () => read(args),
    opened: () => lines().length,
    async url(index = 0, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const seen = lines();
        if (seen.length > index) return seen[index]!;
        await sleep(50);
      }
      throw new Error(`the CLI never opened the browser (${index + 1} times)`);
    },
  };
}

/** The token `get` hands out for the connection, after checking the server accepts it. */
export async function assertStoredTokenWorks(server: OidcServer, home: string): Promise<string> {
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.equal(got.code, 0, got.stderr);
  const token = got.stdout.trim();
  assert.equal((await server.introspect(token)).active, true);
  assert.equal((await server.userinfo(token)).status, 200);
  return token;
}
