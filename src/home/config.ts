import { readFileSync } from "node:fs";
import { StoreUnavailableError, UsageError } from "../errors.js";
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

/**
 * AUTHSOME_REFRESH_WINDOW_SECONDS (empty counts as unset), else config.json's `refresh_window_seconds`
 * (read from `configPath`); undefined means the default. A value that is not 0 or more seconds is an
 * error naming where it came from, never a silent fallback.
 */
export function configuredRefreshWindow(env: NodeJS.ProcessEnv, config: HomeConfig, configPath: string): number | undefined {
  const fromEnv = env.AUTHSOME_REFRESH_WINDOW_SECONDS;
  if (fromEnv !== undefined && fromEnv !== "") {
    const seconds = windowSeconds(fromEnv);
    if (seconds === undefined) throw new UsageError(`AUTHSOME_REFRESH_WINDOW_SECONDS must be a number of seconds, 0 or more, not ${JSON.stringify(fromEnv)}`, { hint: "fix it or unset it" });
    return seconds;
  }
  const configured = config.refresh_window_seconds;
  if (configured === undefined || configured === null) return undefined;
  const seconds = windowSeconds(configured);
  if (seconds === undefined) {
    throw new StoreUnavailableError(`"refresh_window_seconds" in ${configPath} must be a number of seconds, 0 or more, not ${JSON.stringify(configured)}`, { hint: `fix it or remove it from ${configPath}` });
  }
  return seconds;
}

function windowSeconds(value: unknown): number | undefined {
  const seconds = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}
