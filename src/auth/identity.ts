// Who a connection is: the account id and label read from the definition's identity endpoint
// answer (X: data.id, data.username). Ids stay strings (X's exceed 2^53).
import type { IdentitySection } from "../providers/schema.js";
import { fieldValue } from "./export.js";
import { clean } from "./http.js";

export interface Identity {
  id: string | null;
  label: string | null;
}

/** The id and label at the section's paths; a missing value or an object is null. */
export function identityFrom(section: IdentitySection, body: Record<string, unknown>): Identity {
  const pick = (path?: string) => {
    const value = path ? fieldValue(body, path) : undefined;
    // shown on terminals by list, whoami and log: a service's answer carries no escape sequences there
    return value === undefined || value === null || typeof value === "object" ? null : clean(String(value), 200);
  };
  return { id: pick(section.id_path), label: pick(section.label_path) };
}
