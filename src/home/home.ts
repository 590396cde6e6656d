import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { StoreUnavailableError, UsageError } from "../errors.js";
import { DEFAULT_CONFIG, encryptionMode, readConfig, writeConfig, type HomeConfig } from "./config.js";
import { assertWritable, assertWritableFile, ensurePrivateDir, fileError, nearestExisting, writeFileAtomic, writeJsonAtomic, PRIVATE_FILE } from "./files.js";
import { assertName, isValidName, NAME_RULE } from "./names.js";
import { homePaths, resolveHomeDir, type HomePaths } from "./paths.js";

/**
 * What a hint's command must name to reach the store a failed call used, where a bare command
 * reaches another: the profile (`--profile`), and the home (a library caller's own `home`, given
 * as AUTHSOME_HOME).
 */
export interface HintScope {
  profile?: string;
  home?: string;
}

/** One AUTHSOME_HOME: its files, config and profiles. Reading never creates anything. */
export class Home {
  readonly paths: HomePaths;
  private cachedConfig: HomeConfig | undefined;
  private rootChecked = false;

  constructor(readonly root: string = resolveHomeDir()) {
    this.paths = homePaths(root);
  }

  get exists(): boolean {
    return existsSync(this.root);
  }

  /**
   * Fails clearly when the home cannot be one: a file, or a path inside a file. A home that is
   * not there yet is fine (the first write makes it).
   */
  checkRoot(): void {
    if (this.rootChecked) return;
    let file: string | undefined;
    try {
      if (!statSync(this.root).isDirectory()) file = this.root;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") file = nearestExisting(dirname(this.root));
      else if (code !== "ENOENT") throw fileError(err, "read", this.root, "the home");
    }
    if (file !== undefined) {
      throw new StoreUnavailableError(`the home ${this.root} is not a directory${file === this.root ? "" : ` (${file} is a file)`}`, {
        hint: `point AUTHSOME_HOME at a directory (or at a path where one can be made), or move the file ${file} aside`,
      });
    }
    this.rootChecked = true;
  }

  config(): HomeConfig {
    this.checkRoot();
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
    this.checkRoot();
    ensurePrivateDir(this.root);
    ensurePrivateDir(this.paths.profiles);
    if (!existsSync(this.paths.version)) writeFileAtomic(this.paths.version, "2\n");
    if (!existsSync(this.paths.config)) writeConfig(this.paths.config, structuredClone(DEFAULT_CONFIG));
    // a bad default_profile is reported where a profile is chosen; making the layout does not need it,
    // and `profile use` (which fixes it) calls this
    const name = this.configuredDefault();
    if (isValidName(name)) this.ensureProfile(name, "Default local profile");
  }

  /** The profile to use: --profile, else AUTHSOME_PROFILE, else config.default_profile. A bad name says where it came from. */
  resolveProfile(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
    this.checkRoot();
    if (flag !== undefined) return assertName("profile", flag); // an empty --profile is refused, as an empty --connection is
    const fromEnv = env.AUTHSOME_PROFILE;
    if (fromEnv) {
      if (isValidName(fromEnv)) return fromEnv;
      throw new UsageError(`invalid profile name ${JSON.stringify(fromEnv)} in AUTHSOME_PROFILE: ${NAME_RULE}`, {
        hint: `set AUTHSOME_PROFILE to a valid profile name, or unset it (${this.profileChoices()})`,
      });
    }
    const name = this.configuredDefault();
    if (isValidName(name)) return name;
    throw new StoreUnavailableError(`"default_profile" in ${this.paths.config} is ${JSON.stringify(name)}, which is not a valid profile name: ${NAME_RULE}`, {
      hint: `choose the default with \`authsome profile use NAME\`, or fix "default_profile" in ${this.paths.config} (${this.profileChoices()})`,
    });
  }

  /**
   * Where a hint's commands must point to reach `profile` of this home: the profile (`--profile
   * NAME`) unless a bare command reaches it (only "default", while neither config.json nor
   * AUTHSOME_PROFILE picks another), and this home unless it is the one `env` names (a library
   * caller's own `home`).
   */
  hintScope(profile: string, env: NodeJS.ProcessEnv): HintScope {
    const home = resolveHomeDir(env) === this.root ? {} : { home: this.root };
    if (profile !== "default") return { ...home, profile };
    try {
      return this.resolveProfile(undefined, env) === "default" ? home : { ...home, profile };
    } catch {
      return { ...home, profile }; // a bad default_profile or AUTHSOME_PROFILE: a bare command reaches nothing
    }
  }

  /**
   * The profile to read and write (resolveProfile). One chosen by `flag` (named `flagName` in the
   * message) or AUTHSOME_PROFILE must exist; the default need not yet (the first login makes it),
   * so a fresh home reads as empty.
   */
  existingProfile(flag: string | undefined, env: NodeJS.ProcessEnv, flagName: string): string {
    const name = this.resolveProfile(flag, env);
    if (this.mayUse(name)) return name;
    throw this.missingProfile(name, flag !== undefined ? flagName : "AUTHSOME_PROFILE");
  }

  /** A profile that exists, or the default one (which the first write creates). */
  private mayUse(name: string): boolean {
    return this.profileExists(name) || name === this.configuredDefault();
  }

  /** The one error for a profile that does not exist (chosen with `chosenBy`, when it was). */
  missingProfile(name: string, chosenBy?: string): UsageError {
    const create = `create it with \`authsome profile create ${name}\``;
    return new UsageError(`profile "${name}" does not exist${chosenBy ? ` (chosen with ${chosenBy})` : ""}; ${this.profileChoices()}`, {
      hint: chosenBy && this.listProfiles().length ? `${create}, or choose an existing one with ${chosenBy}` : create,
    });
  }

  /** The profiles, for a message or hint: "your profiles: a, b", or "no profiles yet". */
  profileChoices(): string {
    const profiles = this.listProfiles();
    return profiles.length ? `your profiles: ${profiles.join(", ")}` : "no profiles yet";
  }

  /** config.json's default_profile as written (any JSON value); "default" when unset or empty. */
  private configuredDefault(): unknown {
    return this.config().default_profile || "default";
  }

  profileExists(name: string): boolean {
    this.checkRoot();
    return existsSync(this.paths.profile(name));
  }

  listProfiles(): string[] {
    this.checkRoot();
    if (!existsSync(this.paths.profiles)) return [];
    try {
      return readdirSync(this.paths.profiles, { withFileTypes: true })
        // a profile directory may be a symlink (kept on another disk)
        .filter((d) => d.isDirectory() || (d.isSymbolicLink() && statSync(join(this.paths.profiles, d.name), { throwIfNoEntry: false })?.isDirectory()))
        .map((d) => d.name)
        .sort();
    } catch (err) {
      throw fileError(err, "read", this.paths.profiles, "the profiles directory");
    }
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
    const lock = this.paths.lock(name);
    if (!existsSync(lock)) {
      try {
        writeFileSync(lock, "", { mode: PRIVATE_FILE, flag: "a" });
      } catch (err) {
        throw fileError(err, "create", lock, "the lock file");
      }
    }
  }

  /**
   * Fails before any work is done when a write to this profile could not be made: a profile the
   * first write would not create must exist, and what there is of it must be writable (a read-only
   * store is named here, not after a browser flow). Writes nothing.
   */
  checkProfileWritable(name: string): void {
    if (!this.mayUse(name)) throw this.missingProfile(name);
    // what is there must take the write; what is missing, the directory it will be made in
    const written: Array<[path: string, label: string, isFile: boolean]> = [
      [this.paths.store(name), "the store", true],
      [this.paths.profile(name), "the profile directory", false],
      [this.paths.lock(name), "the lock file", true],
      [this.paths.audit, "the audit log", true],
    ];
    for (const [path, label, isFile] of written) {
      if (!existsSync(path)) assertWritable(nearestExisting(path), `the directory for ${label}`);
      else if (isFile) assertWritableFile(path, label);
      else assertWritable(path, label);
    }
    const made = [this.paths.config, this.paths.version, ...(encryptionMode(this.config()) === "local_key" ? [this.paths.masterKey] : [])];
    for (const path of made) if (!existsSync(path)) assertWritable(nearestExisting(path), "the home");
  }

  /** Makes sure a write to this profile has somewhere to go (the home made as the Python implementation makes it). */
  prepareProfileForWrite(name: string): void {
    this.ensure();
    this.checkProfileWritable(name);
  }
}
