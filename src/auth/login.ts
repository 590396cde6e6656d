// One login, whatever the flow: checks the request, runs the flow, stores the connection (and
// the client it used) and writes the audit line. The CLI and the library both call this.
import { UsageError } from "../errors.js";
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import { assertName } from "../home/names.js";
import type { FlowType, ProviderDefinition } from "../providers/schema.js";
import { expandBaseUrl } from "../providers/validate.js";
import type { Connections } from "../vault/connections.js";
import type { ClientRecord, ConnectionRecord } from "../vault/records.js";
import { mergedClient } from "./client-credentials.js";
import { loginCancelled, type LoginInteraction } from "./interaction.js";

export interface LoginOptions {
  flow?: FlowType;
  /** Default: "default", or the flow's name for a second kind of credential (X's oauth1). */
  connection?: string;
  /** Default: the definition's scopes. */
  scopes?: string[];
  baseUrl?: string;
  /** Not a secret; the secret never comes from here. */
  clientId?: string;
  /** Replace a connected connection. */
  force?: boolean;
  /** OAuth 1.0a: authorize with a PIN (oauth_callback=oob) instead of a loopback redirect. */
  pin?: boolean;
  /** OAuth 1.0a: store an access token and secret issued elsewhere (from the environment or asked; never argv). */
  existingToken?: boolean;
  /** Loopback port of the callback and the local form. */
  port: number;
  timeoutMs: number;
}

export interface LoginTarget {
  home: Home;
  profile: string;
  connections: Connections;
}

/** What a flow gets: everything decided, nothing stored yet. */
export interface FlowContext {
  definition: ProviderDefinition;
  profile: string;
  connection: string;
  options: LoginOptions;
  interaction: LoginInteraction;
  connections: Connections;
}

export interface FlowResult {
  record: ConnectionRecord;
  /** Client credentials the flow used or registered, stored as the provider's client record. */
  client?: Partial<ClientRecord>;
}

export type FlowRunner = (ctx: FlowContext) => Promise<FlowResult>;

// Loaded when used: a login runs one flow.
const FLOWS: Record<FlowType, () => Promise<FlowRunner>> = {
  api_key: async () => (await import("./flows/api-key.js")).apiKeyFlow,
  pkce: async () => (await import("./flows/oauth-login.js")).pkceFlow,
  device_code: async () => (await import("./flows/oauth-login.js")).deviceFlow,
  dcr_pkce: async () => (await import("./flows/dcr.js")).dcrFlow,
  oauth1: async () => (await import("./flows/oauth1.js")).oauth1Flow,
  app_only: async () => (await import("./flows/app-only.js")).appOnlyFlow,
};

/** The flows `login --flow` accepts for a definition. */
export function allowedFlows(def: ProviderDefinition): FlowType[] {
  const flows = new Set<FlowType>([def.flow, ...(def.flows ?? [])]);
  // A device endpoint or registration support is itself a declaration that the flow works.
  if (def.oauth?.supports_device_flow || def.oauth?.device_authorization_url) flows.add("device_code");
  if (def.oauth?.supports_dcr) flows.add("dcr_pkce");
  return [...flows];
}

const SECOND_KINDS: Partial<Record<FlowType, string>> = { oauth1: "oauth1", app_only: "app_only" };

export function defaultConnectionName(def: ProviderDefinition, flow: FlowType): string {
  const kind = SECOND_KINDS[flow];
  return kind && def.auth_type !== kind ? kind : "default";
}

export async function login(target: LoginTarget, base: ProviderDefinition, options: LoginOptions, interaction: LoginInteraction): Promise<{ record: ConnectionRecord; flow: FlowType }> {
  const flow = options.flow ?? base.flow;
  const allowed = allowedFlows(base);
  if (!allowed.includes(flow)) {
    throw new UsageError(`provider "${base.name}" does not support the ${flow} flow`, { hint: `supported: ${allowed.join(", ")}` });
  }
  if ((options.pin || options.existingToken) && flow !== "oauth1") {
    throw new UsageError(`${options.pin ? "--pin" : "--existing-token"} belongs to the oauth1 flow, not ${flow}`, { hint: `add --flow oauth1` });
  }
  const provider = base.name;
  const connection = assertName("connection", options.connection ?? defaultConnectionName(base, flow));
  // a damaged record can be replaced with --force, and is reported otherwise
  const existing = await target.connections.get(provider, connection).catch((err: unknown) => {
    if (options.force) return undefined;
    throw err;
  });
  const refuseConnected = (stored: ConnectionRecord | undefined): void => {
    if (stored?.status === "connected" && !options.force) {
      throw new UsageError(`"${provider}" already has a connected connection "${connection}"`, {
        hint: `pass ${interaction.hints.force} to replace it, or ${interaction.hints.connection} to add another`,
      });
    }
  };
  refuseConnected(existing);
  // nothing is written before the flow has something to store: a failed login leaves the home as it was
  target.home.checkProfileWritable(target.profile);

  const definition = expandBaseUrl(base, options.baseUrl);
  const run = await FLOWS[flow]();
  if (interaction.signal?.aborted) throw loginCancelled();
  const result = await run({ definition, profile: target.profile, connection, options, interaction, connections: target.connections });
  // a flow that finished on its own (an API key, tokens from the environment) stores nothing once cancelled
  if (interaction.signal?.aborted) throw loginCancelled();
  // asked again under the store's lock: a login that ran meanwhile in parallel is not overwritten;
  // the client the connection was issued to is stored in the same write
  const client = result.client;
  await target.connections.save(result.record, refuseConnected, client && ((stored) => mergedClient(stored, client)));
  audit(target.home, "login", { provider, connection, profile: target.profile, flow, account: result.record.account.id ?? undefined });
  return { record: result.record, flow };
}

export interface LoginSummary {
  status: "connected";
  provider: string;
  connection: string;
  profile: string;
  flow: FlowType;
  /** Absent for API keys: they have no account, scopes or expiry to report. */
  account?: ConnectionRecord["account"];
  scopes?: string[] | null;
  expires_at?: string | null;
}

/** What a login reports: names and facts, never a secret. */
export function loginSummary(record: ConnectionRecord, flow: FlowType, profile: string): LoginSummary {
  const summary: LoginSummary = { status: "connected", provider: record.provider, connection: record.connection_name, profile, flow };
  if (record.auth_type === "api_key") return summary;
  return { ...summary, account: record.account, scopes: record.scopes, expires_at: record.expires_at };
}
