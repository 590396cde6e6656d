// examples/fetch-agent.ts, run as a user would (tsx, importing "authsome"), against the oidc peer.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ACCOUNT_ID, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { ROOT } from "../helpers.js";
import { libHome, PROVIDER, runNode } from "../lib/fixtures.js";

const EXAMPLE = join(ROOT, "examples/fetch-agent.ts");

let server: OidcServer;
before(async () => {
  server = await startOidcServer();
});
after(async () => {
  await server.close();
});

test("fetch-agent: an expired token is refreshed and the API answers as the account", async () => {
  const { home } = await libHome(server);
  server.resetCounters();
  const r = await runNode([EXAMPLE, PROVIDER, server.userinfoEndpoint], { AUTHSOME_HOME: home }, { tsx: true });
  assert.equal(r.code, 0, r.stderr);
  const [status, ...body] = r.stdout.trim().split(" ");
  assert.equal(status, "200");
  assert.equal((JSON.parse(body.join(" ")) as { sub: string }).sub, ACCOUNT_ID);
  assert.equal(server.tokenRequests("refresh_token"), 1);
});

test("fetch-agent: a URL the provider does not route is refused with exit code 2, nothing sent", async () => {
  const { home } = await libHome(server, { valid: true });
  const r = await runNode([EXAMPLE, PROVIDER, `http://localhost:${server.port}/me`], { AUTHSOME_HOME: home }, { tsx: true });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /refusing to send the credential of "localidp"/);
  assert.equal(r.stdout, "");
});
