import { AuthenticationError, CredentialMissingError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { newConnection } from "../../vault/records.js";
import { loginCommand } from "../credentials.js";
import type { FlowContext, FlowResult } from "../login.js";

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

/** The key from the definition's variable, else asked (local form or hidden prompt). */
export async function apiKeyFlow(ctx: FlowContext): Promise<FlowResult> {
  const { definition, interaction } = ctx;
  const envName = apiKeyEnvName(definition);
  let key = envName ? interaction.env[envName]?.trim() : undefined;
  if (key) {
    const problem = checkApiKey(definition, key);
    if (problem) throw new AuthenticationError(`${problem} (from $${envName})`, { hint: `fix $${envName} and run the login again` });
  } else if (interaction.ask) {
    const check = (value: string) => checkApiKey(definition, value.trim());
    key = (await interaction.ask({ title: `${definition.display_name} API key`, fields: [{ name: "api_key", label: `${definition.display_name} API key`, secret: true, check }] })).api_key?.trim() ?? "";
    // checked again here: whoever answered may not have checked
    const problem = checkApiKey(definition, key);
    if (problem) throw new AuthenticationError(problem, { hint: `copy the key again from ${definition.display_name} and log in again` });
  } else {
    // the login as it was asked for: a bare `authsome login` would reach another connection or profile
    const { hints } = ctx.interaction;
    const again = hints.again(`${loginCommand(definition.name, ctx.connection, ctx.connections.hintScope, ctx.options.flow)}${ctx.options.force ? " --force" : ""}`);
    throw new CredentialMissingError(`no API key for ${definition.name}: ${envName ? `$${envName} is not set` : "the definition names no environment variable"} and nobody can be asked for it here`, {
      hint: envName ? `set ${envName} in the environment and ${again}, or ${hints.toBeAsked}` : hints.toBeAsked,
    });
  }
  return {
    record: newConnection({
      provider: definition.name,
      profile: ctx.profile,
      connection_name: ctx.connection,
      auth_type: "api_key",
      api_key: key,
      host_url: definition.host_url ?? null,
    }),
  };
}
