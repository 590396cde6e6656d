// The library and the CLI on one store: log in with either, use with the other, sign out alike.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { ACCOUNT_ID, CLIENTS } from "../peers/oidc.js";
import { cliAsync } from "../helpers.js";
import { recordingBrowser } from "../auth/login-fixtures.js";
import { libHome, oidcWithOwnCallback, PROVIDER } from "./fixtures.js";
import { Authsome, AuthenticationError, CredentialMissingError, UsageError, type DeviceCodePrompt } from "../../src/index.js";

const oidc = oidcWithOwnCallback();

const clientEnv = { LOCALIDP_CLIENT_ID: CLIENTS.basic.clientId, LOCALIDP_CLIENT_SECRET: CLIENTS.basic.clientSecret };
const getToken = ["get", PROVIDER, "--field", "access_token", "--show-secret"];

function auditLines(home: string): Array<Record<string, unknown>> {
  const path = join(home, "audit.log");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Completes a PKCE login whose authorize URL a program was handed. */
async function approve(url: string): Promise<void> {
  const callback = await oidc.server.authorize(url, oidc.redirect);
  await fetch(callback);
}

test("logged in with the CLI, used with the library: token, headers, fetch, listing", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  const browser = recordingBrowser();
  const running = cliAsync(["login", PROVIDER, "--port", String(oidc.port), "--timeout", "30"], { home, env: { ...clientEnv, BROWSER: browser.command, DISPLAY: undefined } });
  await approve(await browser.url());
  const r = await running;
  assert.equal(r.code, 0, r.stderr);
  const cliToken = (await cliAsync(getToken, { home })).stdout.trim();

  const a = new Authsome({ home });
  try {
    assert.equal(await a.getAccessToken(PROVIDER), cliToken);
    assert.deepEqual(await a.getAuthHeaders(PROVIDER, { method: "GET", url: oidc.server.userinfoEndpoint }), { Authorization: `Bearer ${cliToken}` });
    const res = await a.fetch(PROVIDER, oidc.server.userinfoEndpoint);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sub: string }).sub, ACCOUNT_ID);

    const listed = await a.listConnections();
    assert.equal(listed.length, 1);
    assert.deepEqual({ ...listed[0], expires_at: undefined, scopes: undefined }, {
      provider: PROVIDER,
      name: "default",
      default: true,
      status: "connected",
      auth_type: "oauth2",
      account: { id: ACCOUNT_ID, label: `${ACCOUNT_ID}@example.test` },
      expires_at: undefined,
      scopes: undefined,
    });
    const shown = await a.getConnection(PROVIDER);
    assert.equal(shown.access_token, "********");
    assert.equal(shown.refresh_token, "********");
    assert.equal(JSON.stringify(shown).includes(cliToken), false);
    const cliShown = JSON.parse((await cliAsync(["get", PROVIDER, "--json"], { home })).stdout) as Record<string, unknown>;
    assert.deepEqual(shown, cliShown, "getConnection is what `get --json` shows");

    assert.equal(await a.export(PROVIDER, "shell"), (await cliAsync(["export", PROVIDER, "--format", "shell"], { home })).stdout.trimEnd());
    const events = auditLines(home).map((l) => l.event);
    assert.ok(events.includes("secret_read") && events.includes("export"), "the library's reads are audited as the CLI's");
  } finally {
    await a.close();
  }
});

test("logged in with the library (PKCE, program-driven), used with the CLI", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  const a = new Authsome({ home, env: { ...process.env, ...clientEnv } });
  const progress: string[] = [];
  let shownUrl = "";
  const summary = await a.login(PROVIDER, {
    port: oidc.port,
    timeoutMs: 30_000,
    onProgress: (m) => progress.push(m),
    onAuthorizeUrl: (url) => {
      shownUrl = url;
      void approve(url); // the person approves in their browser; the callback server gets the code
    },
  });
  await a.close();
  assert.equal(new URL(shownUrl).searchParams.get("code_challenge_method"), "S256");
  assert.equal(new URL(shownUrl).searchParams.get("redirect_uri"), oidc.redirect);
  assert.deepEqual({ ...summary, expires_at: undefined }, {
    status: "connected",
    provider: PROVIDER,
    connection: "default",
    profile: "default",
    flow: "pkce",
    account: { id: ACCOUNT_ID, label: `${ACCOUNT_ID}@example.test` },
    scopes: summary.scopes,
    expires_at: undefined,
  });
  const got = await cliAsync(getToken, { home });
  assert.equal(got.code, 0, got.stderr);
  const token = got.stdout.trim();
  assert.equal((await oidc.server.introspect(token)).active, true);
  assert.equal(JSON.stringify(summary).includes(token), false, "the summary carries no secret");
  assert.equal(JSON.stringify(progress).includes(token), false);
  assert.ok(auditLines(home).some((l) => l.event === "login" && l.provider === PROVIDER && l.flow === "pkce"));

  // a connected connection is replaced only with force, as with the CLI
  const b = new Authsome({ home, env: { ...process.env, ...clientEnv } });
  await assert.rejects(b.login(PROVIDER, { port: oidc.port, onAuthorizeUrl: () => {} }), (err: unknown) => err instanceof UsageError && /already has a connected connection/.test(err.message));
  // another connection with another client would leave this one refreshing with a client that did not issue it
  let shown = false;
  await assert.rejects(
    b.login(PROVIDER, { connection: "other", clientId: "another-client", port: oidc.port, onAuthorizeUrl: () => void (shown = true) }),
    (err: unknown) => err instanceof UsageError && new RegExp(`connections "default" of "${PROVIDER}" were issued to client ${CLIENTS.basic.clientId}, not another-client`).test(err.message),
  );
  assert.equal(shown, false, "refused before the authorization step");
  assert.deepEqual((await b.listConnections(PROVIDER)).map((c) => c.name), ["default"]);
  await b.close();
});

test("device code login through onDeviceCode; cancelling a login with a signal stores nothing", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  const env = { ...process.env, ...clientEnv, AUTHSOME_DEVICE_POLL_INTERVAL_MS: "100" };
  const a = new Authsome({ home, env });
  await assert.rejects(a.login(PROVIDER, { flow: "device_code" }), UsageError, "the code must be shown somewhere");
  let prompt: DeviceCodePrompt | undefined;
  const summary = await a.login(PROVIDER, {
    flow: "device_code",
    connection: "device",
    timeoutMs: 30_000,
    onDeviceCode: (p) => {
      prompt = p;
      void oidc.server.approveDeviceCode(p.userCode);
    },
  });
  assert.ok(prompt?.verificationUri.startsWith(oidc.server.issuer));
  assert.equal(summary.connection, "device");
  assert.equal(summary.flow, "device_code");
  const got = await cliAsync([...getToken, "--connection", "device"], { home });
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout.trim(), await a.getAccessToken(PROVIDER, "device"));

  const abort = new AbortController();
  const cancelled = a.login(PROVIDER, { connection: "cancelled", port: oidc.port, timeoutMs: 30_000, signal: abort.signal, onAuthorizeUrl: () => abort.abort() });
  await assert.rejects(cancelled, (err: unknown) => err instanceof AuthenticationError && err.exitCode === 4 && /cancelled/.test(err.message));
  assert.deepEqual((await a.listConnections(PROVIDER)).map((c) => c.name), ["device"]);
  // a timeout under a second is told in milliseconds, not as "0 s"
  await assert.rejects(a.login(PROVIDER, { connection: "slow", port: oidc.port, timeoutMs: 300, onAuthorizeUrl: () => {} }), (err: unknown) => err instanceof AuthenticationError && /no authorization arrived within 300 ms/.test(err.message) && err.hint === "run the login again, or give more time with a larger timeoutMs");
  // a timer cannot wait longer than 2^31-1 ms (it would fire at once): a day at most, as the CLI's --timeout
  for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
    await assert.rejects(a.login(PROVIDER, { connection: "slow", port: oidc.port, timeoutMs, onAuthorizeUrl: () => {} }), (err: unknown) => err instanceof UsageError && /^timeoutMs must be from 1 to 86400000 \(a day\)/.test(err.message), String(timeoutMs));
  }
  // one long-lived signal (a program's shutdown signal) for many logins: each lets go of it when done
  const shutdown = new AbortController();
  for (let i = 0; i < 3; i++) {
    await assert.rejects(a.login(PROVIDER, { connection: "slow", port: oidc.port, timeoutMs: 100, signal: shutdown.signal, onAuthorizeUrl: () => {} }), AuthenticationError);
  }
  assert.equal(getEventListeners(shutdown.signal, "abort").length, 0);
  // a flow that needs nobody (an API key answered at once) is cancelled too: before it starts, or before storing
  const isCancelled = (err: unknown) => err instanceof AuthenticationError && /cancelled/.test(err.message);
  await assert.rejects(a.login("openai", { signal: AbortSignal.abort(), ask: async () => ({ api_key: "sk-test-" + "c".repeat(40) }) }), isCancelled);
  const late = new AbortController();
  await assert.rejects(a.login("openai", { signal: late.signal, ask: async () => (late.abort(), { api_key: "sk-test-" + "c".repeat(40) }) }), isCancelled);
  assert.deepEqual(await a.listConnections("openai"), []);
  await a.close();
});

test("close() while a call is running: the call still stores its refresh, and no store handle outlives it", async () => {
  const { home } = await libHome(oidc.server); // an expired token: getAccessToken refreshes it
  const a = new Authsome({ home });
  const pending = a.getAccessToken(PROVIDER);
  await new Promise((resolve) => setImmediate(resolve));
  await a.close();
  const token = await pending;
  const openFiles = readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    })
    .filter((path) => path.startsWith(join(home, "profiles")));
  assert.deepEqual(openFiles, [], "store.db and its -wal/-shm are closed");
  const got = await cliAsync(getToken, { home });
  assert.equal(got.stdout.trim(), token, "the refreshed token was stored");
});

test("two logins of one connection at once: the second to finish is refused, the first is kept", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  const keys = ["sk-test-" + "1".repeat(40), "sk-test-" + "2".repeat(40)];
  // both are asked for their key only once both have passed the "already connected" check
  let arrived = 0;
  let release: () => void = () => {};
  const bothAsked = new Promise<void>((resolve) => (release = resolve));
  const instances = keys.map(() => new Authsome({ home }));
  const logins = instances.map((inst, i) =>
    inst.login("openai", {
      ask: async () => {
        if (++arrived === 2) release();
        await bothAsked;
        await new Promise((r) => setTimeout(r, i * 200)); // the first saves first
        return { api_key: keys[i]! };
      },
    }),
  );
  const [first, second] = (await Promise.allSettled(logins)) as [PromiseSettledResult<unknown>, PromiseSettledResult<unknown>];
  assert.equal(first.status, "fulfilled");
  assert.ok(second.status === "rejected" && second.reason instanceof UsageError && /already has a connected connection "default"/.test(second.reason.message));
  assert.equal(await instances[0]!.getAccessToken("openai"), keys[0], "the first login's key is still the one stored");
  for (const inst of instances) await inst.close();
});

test("API key login: from `ask`, else the environment, else exit code 5", async () => {
  const { home } = await libHome(oidc.server, { connected: false });
  const env = { ...process.env };
  delete env.OPENAI_API_KEY;
  const a = new Authsome({ home, env });
  await assert.rejects(a.login("openai"), (err: unknown) => err instanceof CredentialMissingError && err.exitCode === 5 && /OPENAI_API_KEY/.test(err.message));
  // an ask that answers nothing usable is the program's mistake, said so
  for (const answer of [undefined, "sk-test", { api_key: 5 }]) {
    await assert.rejects(a.login("openai", { ask: async () => answer as never }), (err: unknown) => err instanceof UsageError && /ask callback must return an object of string answers/.test(err.message) && /answer api_key/.test(err.hint ?? ""));
  }
  const key = "sk-test-" + "a".repeat(40);
  const asked: string[] = [];
  const summary = await a.login("openai", {
    ask: async (request) => {
      asked.push(...request.fields.map((f) => `${f.name}:${f.secret}`));
      return { api_key: key };
    },
  });
  assert.deepEqual(asked, ["api_key:true"]);
  assert.deepEqual(summary, { status: "connected", provider: "openai", connection: "default", profile: "default", flow: "api_key" });
  const got = await cliAsync(["get", "openai", "--field", "api_key", "--show-secret"], { home });
  assert.equal(got.stdout.trim(), key);
  const headers = await a.getAuthHeaders("openai", { url: "https://api.openai.com/v1/models" });
  assert.equal(headers.Authorization, `Bearer ${key}`);
  assert.equal(await a.getAccessToken("openai"), key);
  await a.close();
});

test("logout, revoke and remove behave as the CLI's", async () => {
  const { home, record } = await libHome(oidc.server, { valid: true });
  const a = new Authsome({ home });
  const out = await a.logout(PROVIDER);
  assert.deepEqual(out, { status: "logged_out", provider: PROVIDER, connection: "default", profile: "default", revoked_remotely: true, warnings: [] });
  assert.equal((await oidc.server.introspect(record!.refresh_token!)).active, false, "revoked at the provider");
  assert.equal((await cliAsync(getToken, { home })).code, 5);
  await assert.rejects(a.logout(PROVIDER), (err: unknown) => err instanceof CredentialMissingError && err.exitCode === 5);
  await a.close();

  const second = await libHome(oidc.server, { valid: true });
  const b = new Authsome({ home: second.home });
  const revoked = await b.revoke(PROVIDER);
  assert.deepEqual(revoked, { status: "revoked", provider: PROVIDER, profile: "default", connections: ["default"], client_credentials: true, revoked_remotely: true, warnings: [] });
  assert.equal((await oidc.server.introspect(second.record!.access_token!)).active, false);
  const cliAgain = await cliAsync(["revoke", PROVIDER], { home: second.home });
  assert.equal(cliAgain.code, 5, "nothing left, for the CLI either");
  await b.close();

  const third = await libHome(oidc.server, { valid: true });
  const c = new Authsome({ home: third.home });
  assert.deepEqual(await c.remove(PROVIDER, { connection: "default" }), {
    status: "removed",
    provider: PROVIDER,
    profile: "default",
    connections: ["default"],
    client_credentials: false,
    definition: false,
  });
  assert.equal((await oidc.server.introspect(third.record!.access_token!)).active, true, "remove never calls the provider");
  const all = await c.remove(PROVIDER);
  assert.deepEqual(all, { status: "removed", provider: PROVIDER, profile: "default", connections: [], client_credentials: true, definition: true });
  await assert.rejects(c.getProvider(PROVIDER), (err: unknown) => (err as { exitCode?: number }).exitCode === 3);
  await c.close();
  const events = auditLines(third.home).map((l) => l.event);
  assert.deepEqual(events.filter((e) => e === "remove").length, 2);
});

test("profiles: the library reads the profile it is given, as --profile does", async () => {
  const { home } = await libHome(oidc.server, { valid: true });
  const created = await cliAsync(["profile", "create", "work"], { home });
  assert.equal(created.code, 0, created.stderr);
  const work = new Authsome({ home, profile: "work" });
  assert.equal(work.profile, "work");
  assert.deepEqual(await work.listConnections(), []);
  await assert.rejects(work.getAccessToken(PROVIDER), CredentialMissingError);
  await work.close();
  const envProfile = new Authsome({ home, env: { ...process.env, AUTHSOME_PROFILE: "work" } });
  assert.equal(envProfile.profile, "work");
  await envProfile.close();
});
