import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where authsome keeps everything: AUTHSOME_HOME, else ~/.authsome (shared with the Python implementation). */
export function resolveHomeDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.AUTHSOME_HOME;
  return fromEnv && fromEnv.length > 0 ? resolve(fromEnv) : join(homedir(), ".authsome");
}

export const homePaths = (root: string) => ({
  root,
  config: join(root, "config.json"),
  version: join(root, "version"),
  masterKey: join(root, "master.key"),
  /** Held while keyring mode makes the master key (the keyring itself has no create-once). */
  keyringLock: join(root, "keyring.lock"),
  audit: join(root, "audit.log"),
  providers: join(root, "providers"),
  profiles: join(root, "profiles"),
  profile: (name: string) => join(root, "profiles", name),
  store: (profile: string) => join(root, "profiles", profile, "store.db"),
  lock: (profile: string) => join(root, "profiles", profile, "lock"),
  profileMetadata: (profile: string) => join(root, "profiles", profile, "metadata.json"),
  userProvider: (name: string) => join(root, "providers", `${name}.json`),
});
export type HomePaths = ReturnType<typeof homePaths>;
