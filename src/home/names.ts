import { UsageError } from "../errors.js";

// Keys in the store are split on ":" by the Python reader, so names are restricted.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type NameKind = "provider" | "connection" | "profile";

/** Also a check of values read from files (config.json's default_profile may be any JSON value). */
export function isValidName(name: unknown): name is string {
  return typeof name === "string" && NAME.test(name) && name.length <= 128;
}

export const NAME_RULE = "use letters, digits, '.', '_' or '-', starting with a letter or digit";

export function assertName(kind: NameKind, name: string): string {
  if (!isValidName(name)) throw new UsageError(`invalid ${kind} name ${JSON.stringify(name)}: ${NAME_RULE}`);
  return name;
}
