import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { UsageError } from "../errors.js";
import { DEFAULT_CONFIG, readConfig, writeConfig, type HomeConfig } from "./config.js";
import { ensurePrivateDir, writeFileAtomic, writeJsonAtomic, PRIVATE_FILE } from "./files.js";
import { assertName } from "./names.js";
import { homePaths, resolveHomeDir, type HomePaths } from "./paths.js";

/** One AUTHSOME_HOME: its files, config and profiles. Reading never creates anything. */
export class Home {
  readonly paths: HomePaths;
  private cachedConfig: HomeConfig | undefined;

  constructor(readonly root: string = resolveHomeDir()) {
    this.paths = homePaths(root);
  }

  get exists(): boolean {
    return existsSync(this.root);
  }

  config(): HomeConfig {
    this.cachedConfig ??= readConfig(this.paths.config);
    return this.cachedConfig;
  }

  saveConfig(config: HomeConfig): void {
    this.ensure();
    writeConfig(this.paths.config, config);
    this.cachedConfig = config;
  }

  /** Creates the home layout as the Python implementation would, all private. Idempotent. */
  ensure(): void {
    ensurePrivateDir(this.root);
    ensurePrivateDir(this.paths.profiles);
    if (!existsSync(this.paths.version)) writeFileAtomic(this.paths.version, "2\n");
    if (!existsSync(this.paths.config)) writeConfig(this.paths.config, structuredClone(DEFAULT_CONFIG));
    this.ensureProfile(this.config().default_profile || "default", "Default local profile");
  }

  /** The profile to use: --profile, else AUTHSOME_PROFILE, else config.default_profile. */
  resolveProfile(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
    const name = flag || env.AUTHSOME_PROFILE || this.config().default_profile || "default";
    return assertName("profile", name);
  }

  profileExists(name: string): boolean {
    return existsSync(this.paths.profile(name));
  }

  listProfiles(): string[] {
    if (!existsSync(this.paths.profiles)) return [];
    return readdirSync(this.paths.profiles, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  }

  /** Creates profiles/<name> with metadata.json and the lock file, if missing. */
  ensureProfile(name: string, description = ""): void {
    assertName("profile", name);
    const dir = this.paths.profile(name);
    ensurePrivateDir(dir);
    if (!existsSync(this.paths.profileMetadata(name))) {
      const now = new Date().toISOString();
      writeJsonAtomic(this.paths.profileMetadata(name), { name, created_at: now, updated_at: now, description });
    }
    if (!existsSync(this.paths.lock(name))) writeFileSync(this.paths.lock(name), "", { mode: PRIVATE_FILE, flag: "a" });
  }

  /** Makes sure a write to this profile has somewhere to go. */
  prepareProfileForWrite(name: string): void {
    this.ensure();
    if (!this.profileExists(name)) {
      throw new UsageError(`profile "${name}" does not exist`, { hint: `create it with \`authsome profile create ${name}\`` });
    }
  }
}
