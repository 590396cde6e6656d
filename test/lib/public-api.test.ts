// The package as a program imports it: by name, from the built dist, with nothing opened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { vectorFile, vectorInput } from "../auth/oauth1-vectors.js";
import { emptyHome, fixtureHome, ROOT } from "../helpers.js";
import { runNode } from "./fixtures.js";
import * as lib from "../../src/index.js";

test("importing the package by name and constructing Authsome opens no store and loads no driver", async () => {
  const home = emptyHome();
  const script = `
    import { createRequire } from "node:module";
    import { Authsome } from "authsome";
    const a = new Authsome();
    const b = new Authsome({ home: process.env.OTHER_HOME, profile: "work" });
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /better-sqlite3|fs-ext/.test(k));
    console.log(JSON.stringify({ home: a.homeDir, other: b.homeDir, loaded }));
  `;
  const other = emptyHome();
  const r = await runNode(["--input-type=module", "-e", script], { AUTHSOME_HOME: home, OTHER_HOME: other });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { home: string; other: string; loaded: string[] };
  assert.equal(out.home, home);
  assert.equal(out.other, other);
  assert.deepEqual(out.loaded, [], "the SQLite driver is loaded on first use only");
  assert.equal(existsSync(home), false, "nothing was created");
  assert.equal(existsSync(other), false);
});

test("reading providers of a missing home creates nothing; a missing connection is exit code 5", async () => {
  const home = emptyHome();
  const a = new lib.Authsome({ home });
  const providers = await a.listProviders();
  assert.ok(providers.some((p) => p.name === "github" && p.source === "bundled"));
  assert.equal((await a.getProvider("openai")).auth_type, "api_key");
  assert.deepEqual(await a.listConnections(), []);
  assert.deepEqual(await a.listConnections("openai"), []);
  // a provider name is checked as every command checks it: no empty name listing everything, no unknown one listing nothing
  await assert.rejects(a.listConnections(""), lib.UsageError);
  await assert.rejects(a.listConnections("openai:default"), lib.UsageError);
  await assert.rejects(a.listConnections("nope"), (err: unknown) => err instanceof lib.ProviderNotFoundError && err.exitCode === 3);
  await assert.rejects(a.getAccessToken("openai"), (err: unknown) => err instanceof lib.CredentialMissingError && err.exitCode === 5 && /authsome login openai/.test(err.hint ?? ""));
  await a.close();
  assert.equal(existsSync(home), false, "reads never create the home");
});

test("a profile chosen by name that does not exist is a usage error; the default one need not exist yet", async () => {
  const home = fixtureHome();
  const missing = new lib.Authsome({ home, profile: "nope" });
  await assert.rejects(missing.listConnections(), (err: unknown) => err instanceof lib.UsageError && /profile "nope" does not exist \(chosen with the profile option\); your profiles: default, work/.test((err as Error).message));
  await assert.rejects(new lib.Authsome({ home, env: { AUTHSOME_PROFILE: "nope" } }).listConnections(), /chosen with AUTHSOME_PROFILE/);
  await new lib.Authsome({ home, profile: "work" }).listConnections(); // an existing profile reads
  assert.deepEqual(await new lib.Authsome({ home: emptyHome(), profile: "default" }).listConnections(), []);
});

test("every error category is exported with the CLI's exit code", async () => {
  const expected: Array<[new (m: string) => lib.AuthsomeError, number]> = [
    [lib.AuthsomeError, 1],
    [lib.UsageError, 2],
    [lib.ProviderDefinitionError, 2],
    [lib.ProviderNotFoundError, 3],
    [lib.AuthenticationError, 4],
    [lib.CredentialMissingError, 5],
    [lib.RefreshError, 6],
    [lib.StoreUnavailableError, 7],
  ];
  for (const [Cls, code] of expected) {
    const err = new Cls("x");
    assert.equal(err.exitCode, code, Cls.name);
    assert.ok(err instanceof lib.AuthsomeError && err instanceof Error);
  }
  assert.deepEqual(lib.ExitCode, { ok: 0, generic: 1, usage: 2, providerNotFound: 3, authFailed: 4, credentialMissing: 5, refreshFailed: 6, storeUnavailable: 7, cannotExecute: 126, commandNotFound: 127 });
  assert.ok(new lib.OAuthError("m", { endpoint: "e", error: "invalid_grant" }) instanceof lib.AuthenticationError);
  // an empty home (an unset variable passed on) is refused, not taken for the default one
  for (const home of ["", 5]) assert.throws(() => new lib.Authsome({ home: home as string }), (err: unknown) => err instanceof lib.UsageError && /home must be a directory path/.test(err.message));
  const a = new lib.Authsome({ home: emptyHome() });
  await assert.rejects(a.getProvider("no-such-provider"), (err: unknown) => err instanceof lib.ProviderNotFoundError && err.exitCode === 3 && err.code === "provider_not_found");
  await assert.rejects(a.getProvider("../etc"), (err: unknown) => err instanceof lib.UsageError && err.exitCode === 2);
  await assert.rejects(a.export("openai", "yaml" as never), lib.UsageError);
  await assert.rejects(a.registerProvider({ name: "bad" }), (err: unknown) => err instanceof lib.ProviderDefinitionError && err.exitCode === 2);
});

test("the library's hints name its options, not the CLI's flags", async () => {
  const home = emptyHome();
  const a = new lib.Authsome({ home, env: {} });
  const hintOf = async (call: Promise<unknown>): Promise<string> => {
    const err = (await call.then(() => assert.fail("expected a refusal"), (e: unknown) => e)) as lib.AuthsomeError;
    assert.ok(err instanceof lib.AuthsomeError, String(err));
    return `${err.message} | ${err.hint}`;
  };
  // an API key with neither its variable nor an ask callback
  assert.match(await hintOf(a.login("openai")), /no API key for openai: \$OPENAI_API_KEY is not set and nobody can be asked for it here \| set OPENAI_API_KEY in the environment and call login\(\) again, or pass an ask callback to login\(\)$/);
  await a.login("openai", { ask: async () => ({ api_key: "sk-test-" + "c".repeat(40) }) });
  assert.match(await hintOf(a.login("openai", { ask: async () => ({ api_key: "sk-test-" + "d".repeat(40) }) })), /already has a connected connection "default" \| pass force: true to replace it, or connection: NAME to add another$/);
  const definition = { schema_version: 1, name: "acme", display_name: "Acme", auth_type: "api_key", flow: "api_key", api_key: {}, routes: [{ host: "api.acme.example" }] };
  await a.registerProvider(definition);
  assert.match(await hintOf(a.registerProvider(definition)), /\| pass force: true to replace it$/);
  assert.match(await hintOf(a.registerProvider({ ...definition, name: "openai" })), /\| pass force: true to override the bundled definition with yours$/);
  // "routes": [] sends the credential nowhere, its host_url included
  await a.registerProvider({ ...definition, name: "nowhere", host_url: "api.nowhere.example", routes: [] });
  await a.login("nowhere", { ask: async () => ({ api_key: "nowhere-key" }) });
  assert.match(await hintOf(a.fetch("nowhere", "https://api.nowhere.example/v1")), /is not one of the provider's routes \| "nowhere" is not routed: its definition says "routes": \[\]; add routes to its definition$/);
  await a.close();
});

test("a hint to log in again points at the caller's own home, which a bare command would not reach", async () => {
  const home = join(emptyHome(), "it's mine");
  const missingHint = async (a: lib.Authsome): Promise<string | undefined> =>
    ((await a.getAccessToken("openai").then(() => assert.fail("expected a refusal"), (e: unknown) => e)) as lib.AuthsomeError).hint;
  // pasted into a shell, the hint reaches this home (quoted), not ~/.authsome or $AUTHSOME_HOME
  assert.equal(await missingHint(new lib.Authsome({ home, env: {} })), `run \`AUTHSOME_HOME='${home.replace("'", "'\\''")}' authsome login openai\` to connect it, or \`AUTHSOME_HOME='${home.replace("'", "'\\''")}' authsome list\` to see the connections`);
  // the home $AUTHSOME_HOME names is the one a bare command reaches: no prefix
  assert.equal(await missingHint(new lib.Authsome({ home, env: { AUTHSOME_HOME: home } })), "run `authsome login openai` to connect it, or `authsome list` to see the connections");
});

test("error names and codes survive a bundler that renames classes", async () => {
  const { build } = await import("esbuild");
  // the error classes as a program's bundle holds them (the rest of the library needs its packages)
  const entry = 'export * from "./src/errors.ts"; export { OAuthError } from "./src/auth/oauth-errors.ts";';
  const out = await build({ stdin: { contents: entry, resolveDir: ROOT, loader: "ts" }, bundle: true, minify: true, platform: "node", format: "esm", write: false });
  const file = join(emptyHome(), "..", "bundle.mjs");
  writeFileSync(file, out.outputFiles[0]!.text);
  const bundled = (await import(pathToFileURL(file).href)) as typeof lib;
  assert.notEqual(bundled.CredentialMissingError.name, "CredentialMissingError", "the class was renamed");
  const cases: Array<[lib.AuthsomeError, string, string]> = [
    [new bundled.CredentialMissingError("x"), "CredentialMissingError", "credential_missing"],
    [new bundled.ProviderDefinitionError("x"), "ProviderDefinitionError", "provider_definition"],
    [new bundled.OAuthError("x", { endpoint: "e", error: "invalid_grant" }), "OAuthError", "oauth"],
    [new bundled.StoreUnavailableError("x"), "StoreUnavailableError", "store_unavailable"],
  ];
  for (const [err, name, code] of cases) {
    assert.equal(err.name, name);
    assert.equal(err.code, code);
    // the unbundled class says the same
    assert.equal(new (lib as unknown as Record<string, new (m: string, d?: unknown) => lib.AuthsomeError>)[name]!("x", { endpoint: "e", error: "e" }).code, code);
  }
});

test("signOAuth1Request is exported and matches the shared vectors", () => {
  for (const v of vectorFile.vectors) {
    const header = lib.signOAuth1Request(vectorInput(v));
    assert.ok(header.includes(`oauth_signature="${encodeURIComponent(v.signature)}"`), header);
  }
});

test("package.json points the package at dist with declarations, and the bin is unchanged", () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as Record<string, any>;
  assert.equal(pkg.name, "authsome");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.exports["."].import, "./dist/index.js");
  assert.equal(pkg.exports["."].types, "./dist/index.d.ts");
  assert.equal(pkg.bin.authsome, "bin/authsome.js");
  assert.ok(existsSync(join(ROOT, "dist/index.d.ts")), "npm run build writes the declarations");
  assert.match(readFileSync(join(ROOT, "dist/lib/authsome.d.ts"), "utf8"), /getAuthHeaders\(provider: string/);
});
