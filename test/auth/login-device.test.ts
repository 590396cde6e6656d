import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";
import { CLI, cliAsync } from "../helpers.js";
import { homeWithProvider, assertStoredTokenWorks } from "./login-fixtures.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer();
});
after(async () => {
  await server.close();
});

/** Runs `login --flow device_code`, hands the user code shown on stderr to `act`, returns the exit code and stderr. */
async function deviceLogin(home: string, env: Record<string, string>, act: (userCode: string) => Promise<void>): Promise<{ code: number; stderr: string; stdout: string }> {
  const childEnv = { ...process.env, ...env, AUTHSOME_HOME: home, NO_COLOR: "1", AUTHSOME_DEVICE_POLL_INTERVAL_MS: "200" } as NodeJS.ProcessEnv;
  delete childEnv.BROWSER;
  delete childEnv.DISPLAY;
  const child = spawn(process.execPath, [CLI, "login", "localidp", "--flow", "device_code", "--timeout", "60"], { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.end();
  let stderr = "";
  let stdout = "";
  const closed = new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? -1)));
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  const userCode = await new Promise<string>((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      const m = /enter the code:\s+(\S+)\s/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void closed.then(() => reject(new Error(`CLI ended early: ${stderr}`)));
  });
  await act(userCode);
  return { code: await closed, stderr, stdout };
}

test("device flow: the approved code gives a working token, account and stored client", async () => {
  const home = homeWithProvider(server);
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, (c) => server.approveDeviceCode(c));
  assert.equal(r.code, 0, r.stderr);
  const token = await assertStoredTokenWorks(server, home);
  assert.ok(!r.stderr.includes(token) && !r.stdout.includes(token));
  assert.ok(!r.stderr.includes(CLIENTS.basic.clientSecret));
  const json = await cliAsync(["get", "localidp", "--json"], { home });
  assert.match(json.stdout, /user-1/);
});

test("device flow: a public client with no secret works", async () => {
  const home = homeWithProvider(server, { client_auth_method: "none" });
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.public.clientId }, (c) => server.approveDeviceCode(c));
  assert.equal(r.code, 0, r.stderr);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.equal((await server.introspect(got.stdout.trim())).active, true);
});

test("device flow: a denied code is exit 4, nothing stored", async () => {
  const home = homeWithProvider(server);
  const r = await deviceLogin(home, { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret }, (c) => server.denyDeviceCode(c));
  assert.equal(r.code, 4, r.stderr);
  assert.match(r.stderr, /denied/);
  const got = await cliAsync(["get", "localidp", "--field", "access_token", "--show-secret"], { home });
  assert.notEqual(got.code, 0);
});
