// The OAuth 1.0a consumer (X calls it the API key and API secret): the provider's client
// credentials, kept in its client record as `consumer_key` / `consumer_secret` (X's OAuth 2.0
// client id and secret are different credentials and stay in client_id / client_secret).
import { CredentialMissingError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import type { Connections } from "../../vault/connections.js";
import type { ClientRecord, ConnectionRecord } from "../../vault/records.js";
import type { InputField, LoginInteraction } from "../interaction.js";
import { reloginHint } from "../credentials.js";

export interface OAuth1Consumer {
  key: string;
  secret: string;
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v.trim() ? v.trim() : undefined);

/** The consumer stored in a client record, when both halves are there. */
export function storedConsumer(record: ClientRecord | undefined): OAuth1Consumer | undefined {
  const key = text(record?.consumer_key);
  const secret = text(record?.consumer_secret);
  return key && secret ? { key, secret } : undefined;
}

/**
 * The stored consumer key and secret of a provider, for one of its connections (its login is
 * the one named in the error).
 */
export async function oauth1Consumer(connections: Connections, definition: ProviderDefinition, connection: ConnectionRecord): Promise<OAuth1Consumer> {
  const consumer = storedConsumer(await connections.client(definition.name));
  if (!consumer) {
    throw new CredentialMissingError(`no API key and secret (OAuth 1.0a consumer) are stored for "${definition.name}"`, {
      hint: `${reloginHint(connection, connections.hintScope)} to enter them`,
    });
  }
  return consumer;
}

/**
 * The consumer for a login: the definition's environment variables, else the stored client
 * record, else asked (local form or hidden prompt). Never from argv; whitespace trimmed.
 */
export async function resolveConsumer(definition: ProviderDefinition, stored: ClientRecord | undefined, interaction: LoginInteraction): Promise<OAuth1Consumer> {
  const section = definition.oauth1;
  const env = (name?: string) => (name ? text(interaction.env[name]) : undefined);
  const fromStore = storedConsumer(stored);
  let key = env(section?.consumer_key_env) ?? text(stored?.consumer_key);
  // a stored secret belongs to the stored key only
  let secret = env(section?.consumer_secret_env) ?? (key && key === fromStore?.key ? fromStore.secret : undefined);
  if ((!key || !secret) && interaction.ask) {
    const fields: InputField[] = [];
    if (!key) fields.push({ name: "consumer_key", label: "API key (consumer key)", secret: false });
    if (!secret) fields.push({ name: "consumer_secret", label: "API secret (consumer secret)", secret: true });
    const answers = await interaction.ask({ title: `${definition.display_name} API key and secret`, fields });
    key ??= text(answers.consumer_key);
    secret ??= text(answers.consumer_secret);
  }
  if (!key || !secret) {
    const names = [section?.consumer_key_env, section?.consumer_secret_env].filter(Boolean).join(" and ");
    throw new CredentialMissingError(`"${definition.name}" needs its API key and secret (OAuth 1.0a consumer) and none were given`, {
      hint: `${names ? `set ${names} in the environment, or ` : ""}${interaction.hints.toBeAsked} to be asked`,
    });
  }
  if (/[\r\n]/.test(key) || /[\r\n]/.test(secret)) {
    throw new CredentialMissingError("the API key or secret contains a line break", { hint: "enter them again without line breaks" });
  }
  return { key, secret };
}
