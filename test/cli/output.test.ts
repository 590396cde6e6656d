import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { CLI, cli, cliOnTerminal, emptyHome, fixtureHome, onTerminal, snapshot, tempDir } from "../helpers.js";

// How the CLI prints: usage errors with --json, colour per stream on a real terminal, a reader
// that closes the pipe early, and a profile that does not exist.

const ESC = /\x1b\[/;
const stripColour = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");
/** The terminal as a person's shell has it: colour is neither forced nor turned off. */
const TERMINAL_ENV = { NO_COLOR: undefined, FORCE_COLOR: undefined };

/** Runs a shell script on a pseudo-terminal (to redirect one stream while the other stays on it); the script starts the CLI as "$NODE" "$CLI". */
function shellOnTerminal(script: string, home: string, extra: Record<string, string> = {}): { output: string; code: number } {
  return onTerminal(["/bin/sh", "-c", script], [], { home, env: { NODE: process.execPath, CLI, ...extra, ...TERMINAL_ENV, AUTHSOME_PROFILE: undefined } });
}

test("with --json anywhere, a usage error is the JSON error document on stdout", () => {
  const home = fixtureHome();
  const cases: Array<[string[], RegExp, string]> = [
    [["get", "a", "b", "--json"], /too many arguments/, "authsome get --help"],
    [["foo", "--json"], /unknown command 'foo'/, "authsome --help"],
    [["export", "github", "--format", "xml", "--json"], /'xml' is invalid.*env, shell, dotenv, json/, "authsome export --help"],
    [["get", "github", "--bogus", "--json"], /unknown option '--bogus'/, "authsome get --help"],
    [["--json", "login"], /missing required argument 'provider'/, "authsome login --help"],
    [["profile", "bogus", "--json"], /unknown command 'bogus'/, "authsome profile --help"],
  ];
  for (const [args, message, help] of cases) {
    const r = cli(args, { home });
    assert.equal(r.code, 2, `exit code of ${args.join(" ")}`);
    assert.equal(r.stderr, "", `nothing on stderr for ${args.join(" ")}`);
    const { error } = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string; exit_code: number } };
    assert.equal(error.code, "usage");
    assert.equal(error.exit_code, 2);
    assert.match(error.message, message);
    assert.equal(error.hint, `run \`${help}\``);
  }
});

test("without --json a usage error is text on stderr, with the failing command's help as the hint", () => {
  const home = fixtureHome();
  const sub = cli(["profile", "bogus"], { home });
  assert.equal(sub.code, 2);
  assert.equal(sub.stdout, "");
  assert.equal(sub.stderr, "error: unknown command 'bogus'\nhint: run `authsome profile --help`\n");
  const top = cli(["frobnicate"], { home });
  assert.equal(top.stderr, "error: unknown command 'frobnicate'\nhint: run `authsome --help`\n");
  // a command that groups others, given none: its help, then the error
  const group = cli(["profile"], { home });
  assert.equal(group.code, 2);
  assert.match(group.stderr, /^Usage: authsome profile [\s\S]*\nerror: `authsome profile` needs a command\nhint: run `authsome profile --help`\n$/);
  const groupJson = cli(["profile", "--json"], { home });
  assert.equal(groupJson.code, 2);
  assert.equal(JSON.parse(groupJson.stdout).error.hint, "run `authsome profile --help`");
  // a word after `--` belongs to run's child, so it does not turn the error into JSON
  const run = cli(["run", "--bogus", "--", "tool", "--json"], { home });
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /unknown option '--bogus'\nhint: run `authsome run --help`/);
});

test("on a terminal --no-color works before and after the subcommand", () => {
  const home = fixtureHome();
  const coloured = cliOnTerminal(["list"], [], { home, env: TERMINAL_ENV });
  assert.equal(coloured.code, 0, coloured.output);
  assert.match(coloured.output, ESC, "a terminal gets colour");
  for (const args of [["list", "--no-color"], ["--no-color", "list"], ["profile", "list", "--no-color"], ["profile", "--no-color", "list"]]) {
    const r = cliOnTerminal(args, [], { home, env: TERMINAL_ENV });
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /default/);
    assert.doesNotMatch(r.output, ESC, `no colour with ${args.join(" ")}`);
  }
});

test("colour on a stream follows that stream's own terminal", () => {
  const home = fixtureHome();
  const file = join(tempDir(), "out");

  const redirected = shellOnTerminal(`"$NODE" "$CLI" list --connected > "$OUT"`, home, { OUT: file });
  assert.equal(redirected.code, 0, redirected.output);
  const written = readFileSync(file, "utf8");
  assert.match(written, /^x\s+bundled\s+oauth2\s+default \(default\)\s+connected\s+@fixture_handle$/m);
  assert.doesNotMatch(written, ESC, "no escape codes in the file");

  const piped = shellOnTerminal(`"$NODE" "$CLI" doctor | cat`, home);
  assert.match(piped.output, /^(ok|FAIL)\s+config:/m);
  assert.doesNotMatch(piped.output, ESC, "no escape codes through the pipe");

  // stderr is still the terminal: its error is red, while stdout's file stays plain
  const error = shellOnTerminal(`"$NODE" "$CLI" get nosuch > "$OUT"`, home, { OUT: file });
  assert.equal(error.code, 3);
  assert.match(error.output, /\x1b\[31merror: unknown provider "nosuch"/);

  const errorToFile = shellOnTerminal(`"$NODE" "$CLI" get nosuch 2> "$OUT"`, home, { OUT: file });
  assert.equal(errorToFile.code, 3);
  const stderr = readFileSync(file, "utf8");
  assert.match(stderr, /^error: unknown provider "nosuch"\nhint: /);
  assert.doesNotMatch(stderr, ESC, "no escape codes in the file");
});

test("coloured columns line up on a terminal", () => {
  const home = fixtureHome();
  const r = cliOnTerminal(["list"], [], { home, env: TERMINAL_ENV });
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /\x1b\[2mnot connected/, "statuses are coloured");
  const lines = stripColour(r.output).split(/\r?\n/);
  const header = lines.find((l) => l.startsWith("PROVIDER"))!;
  const row = lines.find((l) => l.startsWith("x ") && l.includes("@fixture_handle"))!;
  assert.equal(row.indexOf("connected"), header.indexOf("STATUS"), `STATUS column:\n${header}\n${row}`);
  assert.equal(row.indexOf("@fixture_handle"), header.indexOf("ACCOUNT"), `ACCOUNT column:\n${header}\n${row}`);
});

test("a reader that closes the pipe early ends the command quietly", () => {
  const home = fixtureHome();
  const entry = JSON.stringify({ timestamp: "2026-01-01T00:00:00Z", event: "secret_read", provider: "openai", connection: "default", profile: "default", field: "access_token" });
  appendFileSync(join(home, "audit.log"), `${entry}\n`.repeat(20_000));
  const r = spawnSync("bash", ["-c", `"$NODE" "$CLI" log -n 20000 | head -1; echo "authsome exited \${PIPESTATUS[0]}"`], {
    env: { ...process.env, AUTHSOME_HOME: home, NODE: process.execPath, CLI, NO_COLOR: "1" },
    encoding: "utf8",
  });
  assert.equal(r.stdout, "TIME                  EVENT        PROVIDER  DETAILS\nauthsome exited 0\n");
  assert.equal(r.stderr, "", "no stack trace");
});

test("a profile chosen with --profile or AUTHSOME_PROFILE that does not exist is a usage error", () => {
  const home = fixtureHome();
  const before = snapshot(home);
  const runs = [
    cli(["-p", "nope", "list"], { home }),
    cli(["whoami", "--profile", "nope"], { home }),
    cli(["get", "github", "-p", "nope"], { home }),
    cli(["export", "openai"], { home, env: { AUTHSOME_PROFILE: "nope" } }),
  ];
  for (const r of runs) {
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: profile "nope" does not exist \(chosen with (--profile|AUTHSOME_PROFILE)\); your profiles: default, work\n/);
    assert.match(r.stderr, /hint: create it with `authsome profile create nope`/);
  }
  const json = cli(["-p", "nope", "whoami", "--json"], { home });
  assert.equal(json.code, 2);
  assert.equal(JSON.parse(json.stdout).error.code, "usage");

  // login, which writes into the profile, says the same
  const login = cli(["-p", "nope", "login", "openai"], { home, env: { OPENAI_API_KEY: "sk-aaaaaaaaaaaaaaaaaaaaaaaa" } });
  assert.equal(login.code, 2);
  assert.match(login.stderr, /profile "nope" does not exist/);
  assert.deepEqual(snapshot(home), before, "nothing changed on disk");

  // existing profiles, and the default one of a fresh home, are read as before
  assert.equal(cli(["-p", "work", "list", "--connected"], { home }).code, 0);
  const fresh = emptyHome();
  assert.equal(cli(["-p", "default", "whoami"], { home: fresh }).code, 0);
  const missing = cli(["list"], { home: fresh, env: { AUTHSOME_PROFILE: "work" } });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /profile "work" does not exist \(chosen with AUTHSOME_PROFILE\); no profiles yet/);
});
