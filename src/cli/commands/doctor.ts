import { existsSync, statSync } from "node:fs";
import { ExitCode } from "../../errors.js";
import { encryptionMode } from "../../home/config.js";
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

/** The key loads from its source; a home with no records yet may simply not have one. */
async function masterKeyCheck(ctx: CommandContext): Promise<Check> {
  const mode = encryptionMode(ctx.home.config());
  const hasRecords = ctx.home.listProfiles().some((p) => existsSync(ctx.home.paths.store(p)) && new Vault(ctx.home, p).kv.hasAny());
  try {
    await loadMasterKey({ mode, keyFile: ctx.home.paths.masterKey }, { mayCreate: false });
    return { check: "master key", ok: true, detail: `loads from ${mode === "keyring" ? "the system keyring" : ctx.home.paths.masterKey}` };
  } catch (err) {
    const missingButUnused = !hasRecords && /missing/.test((err as Error).message);
    return { check: "master key", ok: missingButUnused, detail: missingButUnused ? "not created yet (made at the first login)" : (err as Error).message };
  }
}

export default async function doctor(ctx: CommandContext): Promise<number> {
  const checks: Check[] = [];
  const { home } = ctx;
  if (!home.exists) {
    checks.push({ check: "home", ok: false, detail: `${home.root} does not exist yet (it is made at the first login or register)` });
  } else {
    checks.push(modeCheck(home.root, 0o700, "home is private"));
    try {
      const config = home.config();
      checks.push({ check: "config", ok: true, detail: `encryption ${encryptionMode(config)}, default profile ${config.default_profile}` });
    } catch (err) {
      checks.push({ check: "config", ok: false, detail: (err as Error).message });
    }
    checks.push(await masterKeyCheck(ctx));
    if (existsSync(home.paths.masterKey)) checks.push(modeCheck(home.paths.masterKey, 0o600, "master key is private"));
    for (const profile of home.listProfiles()) {
      checks.push(modeCheck(home.paths.profile(profile), 0o700, `profile ${profile} directory is private`));
      if (!existsSync(home.paths.store(profile))) continue;
      checks.push(modeCheck(home.paths.store(profile), 0o600, `profile ${profile} store is private`));
      const vault = new Vault(home, profile);
      try {
        const entries = await vault.list(`profile:${profile}:`);
        const bad = entries.filter((e) => e.error);
        checks.push({
          check: `profile ${profile} records`,
          ok: bad.length === 0,
          detail: bad.length ? bad.map((e) => e.error).join("; ") : `${entries.length} record(s) decrypt and parse`,
        });
        const expired = (await new Connections(vault).list()).filter((e) => e.record?.status === "invalid");
        for (const e of expired) {
          checks.push({ check: `connection ${e.provider}/${e.connection}`, ok: false, detail: `invalid: run \`authsome login ${e.provider} --connection ${e.connection} --force\`` });
        }
      } catch (err) {
        checks.push({ check: `profile ${profile} records`, ok: false, detail: (err as Error).message });
      } finally {
        vault.close();
      }
    }
  }
  const { errors } = ctx.providers.list();
  checks.push({
    check: "provider definitions",
    ok: errors.length === 0,
    detail: errors.length ? errors.map((e) => e.message).join("\n") : "all definitions are valid",
  });

  const ok = checks.every((c) => c.ok);
  ctx.out.result({ ok, checks }, () => [
    ...checks.map((c) => `${c.ok ? ctx.out.paint("ok  ", "green") : ctx.out.paint("FAIL", "red")}  ${c.check}: ${c.detail}`),
    ok ? "No problems found." : `${checks.filter((c) => !c.ok).length} problem(s) found.`,
  ]);
  return ok ? ExitCode.ok : ExitCode.generic;
}
