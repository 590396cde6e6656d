// The refresh storm across both front ends: library processes, CLI processes and library calls
// in this process, all on one expired token. One refresh reaches the server; all get its token.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { cliAsync } from "../helpers.js";
import { openConnections } from "../auth/oidc-home.js";
import { libHome, PROVIDER, runNode } from "./fixtures.js";
import { Authsome } from "../../src/index.js";

const SCRIPT = join(fileURLToPath(new URL(".", import.meta.url)), "scripts/credential.mjs");

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 3600 });
});
after(async () => {
  await server.close();
});

test("35 agents mixing library processes, CLI `get` processes and in-process calls: one refresh, one token", async () => {
  const { home, record } = await libHome(server);
  server.resetCounters();
  const env = { AUTHSOME_HOME: home };
  const runs: Array<Promise<{ code: number; stdout: string; stderr: string }>> = [];
  for (let i = 0; i < 30; i++) {
    const kind = i % 3;
    if (kind === 0) runs.push(cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home }));
    else if (kind === 1) runs.push(runNode([SCRIPT, "token", PROVIDER], env));
    else runs.push(runNode([SCRIPT, i % 2 ? "headers" : "fetch", PROVIDER, server.userinfoEndpoint], env));
  }
  const inProcess = Array.from({ length: 5 }, async () => {
    const a = new Authsome({ home });
    try {
      return { code: 0, stdout: `${await a.getAccessToken(PROVIDER)}\n`, stderr: "" };
    } finally {
      await a.close();
    }
  });
  const results = await Promise.all([...runs, ...inProcess]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const tokens = new Set(results.map((r) => r.stdout.trim()));
  assert.equal(tokens.size, 1, "every agent got the same token");
  const [token] = [...tokens];
  assert.notEqual(token, record!.access_token);
  assert.equal(server.tokenRequests("refresh_token"), 1, "exactly one refresh reached the token endpoint");
  assert.equal((await server.introspect(token!)).active, true);
  const connections = openConnections(home);
  const stored = (await connections.get(PROVIDER))!;
  connections.vault.close();
  assert.equal(stored.access_token, token);
  assert.notEqual(stored.refresh_token, record!.refresh_token, "the rotated refresh token was stored");
});
