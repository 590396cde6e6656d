import { UsageError } from "../errors.js";

// Keys in the store are split on ":" by the Python reader, so names are restricted.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export type NameKind = "provider" | "connection" | "profile";

export function isValidName(name: string): boolean {
  return NAME.test(name) && name.length <= 128;
}

export function assertName(kind: NameKind, name: string): string {
  if (!isValidName(name)) {
    throw new UsageError(
      `invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return name;
}
