import { existsSync, statSync } from "node:fs";
import { reloginHint } from "../../auth/credentials.js";
import { ExitCode } from "../../errors.js";
import { encryptionMode } from "../../home/config.js";
import { assertWritable } from "../../home/files.js";
import { isValidName } from "../../home/names.js";
import { Connections } from "../../vault/connections.js";
import { Vault } from "../../vault/store.js";
import { loadMasterKey } from "../../vault/masterkey.js";
import type { CommandContext } from "../context.js";

interface Check {
  check: string;
  ok: boolean;
  detail: string;
}

function modeCheck(path: string, want: number, what: string): Check {
  if (!existsSync(path)) return { check: what, ok: false, detail: `${path} is missing` };
  const mode = statSync(path).mode & 0o777;
  return mode & ~want
    ? { check: what, ok: false, detail: `${path} has mode ${mode.toString(8)}; run chmod ${want.toString(8)} ${path}` }
    : { check: what, ok: true, detail: `${path} (${mode.toString(8)})` };
}

/** A check that may throw: whatever it throws is its failure, and the checks after it still run. */
async function attempt(check: string, run: () => Check | Promise<Check>): Promise<Check> {
  try {
    return await run();
  } catch (err) {
    return { check, ok: false, detail: (err as Error).message };
  }
}

const ENCRYPTION_MODES = ["local_key", "keyring"];

/** config.json parses, and what it names is something this implementation can use. */
function configCheck(ctx: CommandContext): Check {
  const config = ctx.home.config();
  const problems: string[] = [];
  const mode: unknown = config.encryption?.mode;
  if (mode != null && !ENCRYPTION_MODES.includes(mode as string)) problems.push(`encryption mode ${JSON.stringify(mode)} is not one of ${ENCRYPTION_MODES.join(", ")}`);
  if (config.default_profile !== undefined && !isValidName(config.default_profile)) {
    problems.push(`default_profile ${JSON.stringify(config.default_profile)} is not a valid profile name`);
  }
  return problems.length
    ? { check: "config", ok: false, detail: `${ctx.home.paths.config}: ${problems.join("; ")}` }
    : { check: "config", ok: true, detail: `encryption ${encryptionMode(config)}, default profile ${config.default_profile}` };
}

/** The key loads from its source; a home with no records yet may simply not have one. */
async function masterKeyCheck(ctx: CommandContext): Promise<Check> {
  const mode = encryptionMode(ctx.home.config());
  const hasRecords = ctx.home.listProfiles().some((p) => existsSync(ctx.home.paths.store(p)) && new Vault(ctx.home, p).kv.hasAny());
  try {
    await loadMasterKey(mode, ctx.home.paths, { mayCreate: false });
    return { check: "master key", ok: true, detail: `loads from ${mode === "keyring" ? "the system keyring" : ctx.home.paths.masterKey}` };
  } catch (err) {
    const missingButUnused = !hasRecords && /missing/.test((err as Error).message);
    return { check: "master key", ok: missingButUnused, detail: missingButUnused ? "not created yet (made at the first login)" : (err as Error).message };
  }
}

/** A profile's store: private, writable (logins and refreshes save to it), and every record decrypts. */
async function storeChecks(ctx: CommandContext, profile: string): Promise<Check[]> {
  const { home } = ctx;
  const checks = [modeCheck(home.paths.profile(profile), 0o700, `profile ${profile} directory is private`)];
  const store = home.paths.store(profile);
  if (!existsSync(store)) return checks;
  checks.push(modeCheck(store, 0o600, `profile ${profile} store is private`));
  checks.push(
    await attempt(`profile ${profile} store is writable`, () => {
      assertWritable(store, "the store");
      return { check: `profile ${profile} store is writable`, ok: true, detail: store };
    }),
  );
  const vault = new Vault(home, profile);
  try {
    const entries = await vault.list(`profile:${profile}:`);
    const bad = entries.filter((e) => e.error);
    checks.push({
      check: `profile ${profile} records`,
      ok: bad.length === 0,
      detail: bad.length ? bad.map((e) => e.error).join("; ") : `${entries.length} record(s) decrypt and parse`,
    });
    const connections = new Connections(vault, home.hintScope(profile, ctx.io.env));
    const expired = (await connections.list()).filter((e) => e.record?.status === "invalid");
    for (const e of expired) {
      checks.push({ check: `connection ${e.provider}/${e.connection}`, ok: false, detail: `invalid: ${reloginHint(e.record!, connections.hintScope)}` });
    }
  } catch (err) {
    checks.push({ check: `profile ${profile} records`, ok: false, detail: (err as Error).message });
  } finally {
    vault.close();
  }
  return checks;
}

/** The home's own checks; none when it is not there yet (a fresh install) or is not a directory. */
async function homeChecks(ctx: CommandContext): Promise<Check[]> {
  const { home } = ctx;
  // a file where the home (or a directory above it) should be: every other command refuses it too
  const usable = await attempt("home", () => (home.checkRoot(), { check: "home", ok: true, detail: home.root }));
  if (!usable.ok) return [usable];
  if (!home.exists) return [{ check: "home", ok: true, detail: `${home.root} is not created yet (made at the first login or register)` }];
  const checks = [modeCheck(home.root, 0o700, "home is private")];
  checks.push(await attempt("config", () => configCheck(ctx)));
  checks.push(await attempt("master key", () => masterKeyCheck(ctx)));
  if (existsSync(home.paths.masterKey)) checks.push(modeCheck(home.paths.masterKey, 0o600, "master key is private"));
  let profiles: string[];
  try {
    profiles = home.listProfiles();
  } catch (err) {
    return [...checks, { check: "profiles", ok: false, detail: (err as Error).message }];
  }
  for (const profile of profiles) checks.push(...(await storeChecks(ctx, profile)));
  return checks;
}

export default async function doctor(ctx: CommandContext): Promise<number> {
  const checks = await homeChecks(ctx);
  checks.push(
    await attempt("provider definitions", () => {
      const { errors } = ctx.providers.list();
      return { check: "provider definitions", ok: errors.length === 0, detail: errors.length ? errors.map((e) => e.message).join("\n") : "all definitions are valid" };
    }),
  );

  const ok = checks.every((c) => c.ok);
  ctx.out.result({ ok, checks }, () => [
    ...checks.map((c) => `${c.ok ? ctx.out.paint("ok  ", "green") : ctx.out.paint("FAIL", "red")}  ${c.check}: ${c.detail}`),
    ok ? "No problems found." : `${checks.filter((c) => !c.ok).length} problem(s) found.`,
  ]);
  return ok ? ExitCode.ok : ExitCode.generic;
}
