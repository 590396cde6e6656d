// examples/programmatic-login.ts against the oidc peer: the test plays the person who opens the
// printed URL (PKCE) or enters the printed code (device); the CLI then uses what it stored.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ACCOUNT_ID, CLIENTS } from "../peers/oidc.js";
import { cliAsync, ROOT } from "../helpers.js";
import { libHome, oidcWithOwnCallback, PROVIDER, runNode } from "../lib/fixtures.js";

const EXAMPLE = join(ROOT, "examples/programmatic-login.ts");

const oidc = oidcWithOwnCallback();

const env = (home: string) => ({
  AUTHSOME_HOME: home,
  AUTHSOME_CALLBACK_PORT: String(oidc.port),
  AUTHSOME_DEVICE_POLL_INTERVAL_MS: "100",
  LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId,
  LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret,
  BROWSER: undefined,
  DISPLAY: undefined,
});

async function assertUsable(home: string, stdout: string, flow: string): Promise<void> {
  const summary = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  assert.equal(summary.status, "connected");
  assert.equal(summary.flow, flow);
  assert.equal((summary.account as { id: string }).id, ACCOUNT_ID);
  const got = await cliAsync(["get", PROVIDER, "--field", "access_token", "--show-secret"], { home });
  assert.equal(got.code, 0, got.stderr);
  assert.equal((await oidc.server.introspect(got.stdout.trim())).active, true);
  assert.equal(stdout.includes(got.stdout.trim()), false, "the example never prints the token");
}

test("programmatic-login: PKCE with the URL shown by the program", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  let approved: Promise<unknown> | undefined;
  let seen = "";
  const r = await runNode([EXAMPLE, PROVIDER], env(home), {
    tsx: true,
    onStdout: (chunk) => {
      seen += chunk; // a line may arrive in pieces
      const url = /Open this page to connect \S+: (\S+)\n/.exec(seen)?.[1];
      if (url && !approved) approved = oidc.server.authorize(url, oidc.redirect).then((callback) => fetch(callback));
    },
  });
  assert.equal(r.code, 0, r.stderr);
  await approved;
  await assertUsable(home, r.stdout, "pkce");
});

test("programmatic-login: device code shown by the program", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  let approved: Promise<unknown> | undefined;
  let seen = "";
  const r = await runNode([EXAMPLE, PROVIDER, "--device"], env(home), {
    tsx: true,
    onStdout: (chunk) => {
      seen += chunk;
      const code = /Enter (\S+) at /.exec(seen)?.[1];
      if (code && !approved) approved = oidc.server.approveDeviceCode(code);
    },
  });
  assert.equal(r.code, 0, r.stderr);
  await approved;
  await assertUsable(home, r.stdout, "device_code");
});
