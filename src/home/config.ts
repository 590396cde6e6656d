import { readFileSync } from "node:fs";
import { StoreUnavailableError } from "../errors.js";
import { fileError, writeJsonAtomic } from "./files.js";

export type EncryptionMode = "local_key" | "keyring";

/** config.json as both implementations read it; unknown fields are kept on rewrite. */
export interface HomeConfig {
  spec_version: number;
  default_profile: string;
  encryption: { mode: EncryptionMode | null; [k: string]: unknown } | null;
  [k: string]: unknown;
}

export const DEFAULT_CONFIG: HomeConfig = {
  spec_version: 1,
  default_profile: "default",
  encryption: { mode: "local_key" },
};

export function readConfig(path: string): HomeConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return structuredClone(DEFAULT_CONFIG);
    throw fileError(err, "read", path);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new StoreUnavailableError(`${path} is not valid JSON`, {
      hint: `fix or remove ${path} (a default one is written on the next change)`,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new StoreUnavailableError(`${path} must hold a JSON object`, {
      hint: `fix or remove ${path} (a default one is written on the next change)`,
    });
  }
  return { ...structuredClone(DEFAULT_CONFIG), ...(parsed as Partial<HomeConfig>) } as HomeConfig;
}

/** Python treats anything but "keyring" (including null) as local_key. */
export function encryptionMode(config: HomeConfig): EncryptionMode {
  return config.encryption?.mode === "keyring" ? "keyring" : "local_key";
}

export function writeConfig(path: string, config: HomeConfig): void {
  writeJsonAtomic(path, config);
}

/** AUTHSOME_REFRESH_WINDOW_SECONDS, else config.json `refresh_window_seconds`; undefined means the default. */
export function configuredRefreshWindow(env: NodeJS.ProcessEnv, config: HomeConfig): number | undefined {
  const configured = env.AUTHSOME_REFRESH_WINDOW_SECONDS ?? config.refresh_window_seconds;
  const seconds = Number(configured);
  return configured !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}
