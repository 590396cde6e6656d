// `authsome doctor` lists every check, whatever state the home is in: a check that cannot run is
// a failing line, never the end of the report.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CLI, cli, emptyHome, fixtureHome, tempDir } from "../helpers.js";

interface Report {
  ok: boolean;
  checks: Array<{ check: string; ok: boolean; detail: string }>;
}

function doctor(home: string, env: Record<string, string> = {}): { code: number; report: Report } {
  const r = cli(["doctor", "--json"], { home, env });
  return { code: r.code, report: JSON.parse(r.stdout) as Report };
}

const line = (report: Report, check: string) => report.checks.find((c) => c.check === check);

test("a home not created yet is a fresh install, not a problem", () => {
  const { code, report } = doctor(emptyHome());
  assert.equal(code, 0);
  assert.match(line(report, "home")!.detail, /not created yet/);
  assert.equal(line(report, "home")!.ok, true);
});

test("a home that cannot be one (a file on its path) fails, as every other command refuses it", () => {
  const file = join(tempDir(), "afile");
  writeFileSync(file, "");
  for (const home of [file, join(file, "sub")]) {
    const { code, report } = doctor(home);
    assert.equal(code, 1);
    assert.equal(line(report, "home")?.ok, false);
    assert.match(line(report, "home")!.detail, /is not a directory/);
  }
});

test("a broken config and a store that is not a database are failing lines; the other checks still run", () => {
  const home = fixtureHome();
  writeFileSync(join(home, "config.json"), "{not json");
  writeFileSync(join(home, "profiles", "default", "store.db"), "not a database");
  const { code, report } = doctor(home);
  assert.equal(code, 1);
  assert.equal(line(report, "config")?.ok, false);
  assert.equal(line(report, "profile default records")?.ok, false);
  assert.equal(line(report, "provider definitions")?.ok, true, "checks after the failures ran");
  assert.equal(line(report, "home is private")?.ok, true);
});

test("config.json naming a bad default profile or an unknown encryption mode fails the config check", () => {
  const home = fixtureHome();
  writeFileSync(join(home, "config.json"), JSON.stringify({ spec_version: 1, default_profile: "a:b", encryption: { mode: "vault9" } }));
  const { code, report } = doctor(home);
  assert.equal(code, 1);
  const config = line(report, "config")!;
  assert.equal(config.ok, false);
  assert.match(config.detail, /a:b/);
});

/** Acting as an ordinary user needs root (to switch) and setpriv. */
const NEEDS_SWITCH = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0 ? false : "needs root and setpriv(1) to run doctor as another user";

test("a store its owner cannot write is reported: logins and refreshes could not save", { skip: NEEDS_SWITCH }, () => {
  // run as an ordinary user (root may write anything)
  const home = fixtureHome();
  const owner = 65534;
  for (const dir of [dirname(home), home]) chmodSync(dir, 0o700);
  const own = (path: string): void => {
    chownSync(path, owner, owner);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) own(join(path, entry.name));
      else chownSync(join(path, entry.name), owner, owner);
    }
  };
  own(dirname(home));
  const store = join(home, "profiles", "default", "store.db");
  chmodSync(store, 0o400);
  const r = spawnSync("setpriv", ["--reuid", String(owner), "--regid", String(owner), "--clear-groups", process.execPath, CLI, "doctor", "--json"], {
    env: { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" },
    encoding: "utf8",
  });
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.status, 1, r.stderr);
  assert.equal(line(report, "profile default store is writable")?.ok, false);
  assert.match(line(report, "profile default store is writable")!.detail, /read-only for you \(mode 400\)/);
  assert.equal(line(report, "profile default store is private")?.ok, true);
});
