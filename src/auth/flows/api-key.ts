import { AuthenticationError, CredentialMissingError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { newConnection, type ConnectionRecord } from "../../vault/records.js";

/** Where an API key can come from, in order: the environment, then an interactive reader. */
export interface SecretSource {
  env: NodeJS.ProcessEnv;
  /** Asks the person; undefined when nobody can be asked (no terminal, no display). */
  ask?: (label: string, check: (value: string) => string | undefined) => Promise<string>;
}

/** The variable login reads the key from: api_key.env, else the export variable of api_key. */
export function apiKeyEnvName(definition: ProviderDefinition): string | undefined {
  return definition.api_key?.env ?? definition.export?.env?.api_key;
}

/** Returns an error message when the key does not fit the definition; never echoes the key. */
export function checkApiKey(definition: ProviderDefinition, key: string): string | undefined {
  if (key.length === 0) return "the API key is empty";
  if (/[\r\n]/.test(key)) return "the API key contains a line break";
  const pattern = definition.api_key?.key_pattern;
  if (pattern && !new RegExp(pattern).test(key)) return `the API key does not look like a ${definition.display_name} key (expected to match ${pattern})`;
  return undefined;
}

export async function apiKeyLogin(
  definition: ProviderDefinition,
  target: { profile: string; connection: string },
  source: SecretSource,
): Promise<ConnectionRecord> {
  const envName = apiKeyEnvName(definition);
  let key = envName ? source.env[envName]?.trim() : undefined;
  if (key) {
    const problem = checkApiKey(definition, key);
    if (problem) throw new AuthenticationError(`${problem} (from $${envName})`, { hint: `fix $${envName} and run the login again` });
  } else if (source.ask) {
    key = (await source.ask(`${definition.display_name} API key`, (value) => checkApiKey(definition, value.trim()))).trim();
    const problem = checkApiKey(definition, key);
    if (problem) throw new AuthenticationError(problem);
  } else {
    throw new CredentialMissingError(`no API key for ${definition.name}: ${envName ? `$${envName} is not set` : "the definition names no environment variable"} and there is no terminal to ask on`, {
      hint: envName ? `set ${envName} in the environment and run \`authsome login ${definition.name}\` again` : "run the login in a terminal",
    });
  }
  return newConnection({
    provider: definition.name,
    profile: target.profile,
    connection_name: target.connection,
    auth_type: "api_key",
    api_key: key,
    host_url: definition.host_url ?? null,
  });
}
