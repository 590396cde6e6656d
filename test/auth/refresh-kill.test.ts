import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { startOidcServer, type OidcServer } from "../peers/oidc.js";
import { CLI, cliAsync } from "../helpers.js";
import { PROVIDER, freshConnection, homeWithExpiredToken, openConnections } from "./oidc-home.js";

// Kill a refreshing `get` at random points, 100 times: the store must stay readable, never go
// back to an older token, and the next `get` must either work or say a new login is needed.

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 3600 });
});
after(async () => {
  await server.close();
});

const RUNS = 100;
const getToken = ["get", PROVIDER, "--field", "access_token", "--show-secret"];

/** Spawns a get and SIGKILLs it after delayMs; true when it was still running then. */
function runAndKill(home: string, delayMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" };
    delete env.AUTHSOME_PROFILE;
    const child = spawn(process.execPath, [CLI, ...getToken], { env, stdio: "ignore" });
    let killed = false;
    const timer = setTimeout(() => {
      killed = child.exitCode === null && child.signalCode === null && child.kill("SIGKILL");
    }, delayMs);
    child.on("error", reject);
    child.on("exit", () => {
      clearTimeout(timer);
      resolve(killed);
    });
  });
}

/** Time of one uninterrupted refreshing get, so kills land anywhere in a run, start to end. */
async function calibrate(home: string): Promise<number> {
  const start = Date.now();
  const r = await cliAsync(getToken, { home });
  assert.equal(r.code, 0, r.stderr);
  return Date.now() - start;
}

test(`killing a refreshing get ${RUNS} times never corrupts the store nor restores an older token`, { timeout: 180_000 }, async () => {
  const { home } = await homeWithExpiredToken(server);
  // Clamped: a cold or loaded first run would otherwise make most kills land after the end.
  const span = Math.min(800, Math.max(150, Math.round((await calibrate(home)) * 1.2)));
  let killedMidFlight = 0;
  let completed = 0;
  let relogins = 0;
  let lastObtained = 0;

  for (let i = 0; i < RUNS; i++) {
    // Force a refresh this round: expire the stored token, keeping the tokens themselves.
    let connections = openConnections(home);
    const current = (await connections.get(PROVIDER))!;
    await connections.put({ ...current, expires_at: new Date(Date.now() - 60_000).toISOString() });
    connections.vault.close();

    if (await runAndKill(home, Math.random() * span)) killedMidFlight++;
    else completed++;

    // A dead refresher's lock is released by the kernel: this get must not hang.
    const next = await cliAsync(getToken, { home });
    if (next.code === 0) {
      const token = next.stdout.trim();
      assert.equal((await server.introspect(token)).active, true, `run ${i}: the token handed out is accepted by the server`);
    } else {
      assert.ok(next.code === 5 || next.code === 6, `run ${i}: unexpected exit ${next.code}: ${next.stderr}`);
      assert.match(next.stderr, /new login is needed|authsome login/, `run ${i}`);
      relogins++;
      connections = openConnections(home);
      await connections.put(await freshConnection(server));
      connections.vault.close();
    }

    connections = openConnections(home);
    const entries = await connections.list();
    assert.deepEqual(entries.filter((e) => e.error).map((e) => e.error), [], `run ${i}: every record decrypts`);
    const stored = (await connections.get(PROVIDER))!;
    connections.vault.close();
    const obtained = Date.parse(stored.obtained_at ?? "");
    assert.ok(Number.isFinite(obtained), `run ${i}: obtained_at is set`);
    assert.ok(obtained >= lastObtained, `run ${i}: the stored token never goes back to an older one`);
    lastObtained = obtained;
  }
  console.log(`# ${RUNS} runs: ${killedMidFlight} killed mid-flight, ${completed} completed first, ${relogins} needed a new login (kill window ${span} ms)`);
  assert.equal(killedMidFlight + completed, RUNS);
});
