// App-only bearer tokens (X's OAuth 2.0 client-credentials grant at /oauth2/token): the
// consumer API key and secret buy one bearer token per app, which lives until invalidated. It is
// stored as its own connection and sent verbatim (it contains %2F / %3D: never decode it).
import { AuthenticationError, UsageError } from "../../errors.js";
import type { AppOnlySection, ProviderDefinition } from "../../providers/schema.js";
import { SCHEMA_FILE } from "../../providers/validate.js";
import { newConnection } from "../../vault/records.js";
import { assertClientOfOthers } from "../client-credentials.js";
import { jsonObject, sendBounded, type BoundedAnswer } from "../http.js";
import type { FlowContext, FlowResult } from "../login.js";
import { refused } from "../oauth1/client.js";
import { resolveConsumer, type OAuth1Consumer } from "../oauth1/consumer.js";

function section(def: ProviderDefinition): AppOnlySection {
  if (!def.app_only) throw new UsageError(`provider "${def.name}" has no app_only section`, { hint: `add one to its definition (see ${SCHEMA_FILE})` });
  return def.app_only;
}

/** HTTP Basic over the form-urlencoded key and secret (RFC 6749 §2.3.1, as X documents). */
export function consumerBasic(consumer: OAuth1Consumer): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `Basic ${Buffer.from(`${encode(consumer.key)}:${encode(consumer.secret)}`).toString("base64")}`;
}

/** One form POST with the consumer's Basic credentials; network failures are TemporaryTokenError. */
export function consumerPost(url: string, what: string, consumer: OAuth1Consumer, form: Record<string, string>, timeoutMs?: number): Promise<BoundedAnswer> {
  return sendBounded(url, what, {
    method: "POST",
    headers: { authorization: consumerBasic(consumer), accept: "application/json", "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
    body: new URLSearchParams(form).toString(),
    timeoutMs,
  });
}

/** The app's bearer token for the consumer key and secret. */
export async function requestAppOnlyToken(def: ProviderDefinition, consumer: OAuth1Consumer): Promise<string> {
  const what = "app-only token endpoint";
  const answer = await consumerPost(section(def).token_url, what, consumer, { grant_type: "client_credentials" });
  const names = [def.oauth1?.consumer_key_env, def.oauth1?.consumer_secret_env].filter(Boolean).join(" / ");
  if (answer.status < 200 || answer.status >= 300) throw refused(answer, what, `check the API key and secret${names ? ` (${names})` : ""}; they are not the OAuth 2.0 client id and secret`, [consumer.secret]);
  const body = jsonObject(answer.text);
  const token = body?.access_token;
  const type = body?.token_type;
  if (typeof token !== "string" || !token || typeof type !== "string" || type.toLowerCase() !== "bearer") {
    throw new AuthenticationError(`the ${what} ${answer.endpoint} answered ${answer.status} without a bearer access_token`, { hint: "check app_only.token_url in the provider definition" });
  }
  if (/\s/.test(token)) throw new AuthenticationError(`the ${what} ${answer.endpoint} answered with a token containing white space; refused`);
  return token;
}

/** Invalidates the app's bearer token; throws (an AuthsomeError without secrets) when the server refuses. */
export async function invalidateAppOnlyToken(url: string, consumer: OAuth1Consumer, token: string, timeoutMs?: number): Promise<void> {
  const what = "app-only invalidation endpoint";
  const answer = await consumerPost(url, what, consumer, { access_token: token }, timeoutMs);
  if (answer.status < 200 || answer.status >= 300) throw refused(answer, what, "the token may already be invalid", [consumer.secret, token]);
}

export async function appOnlyFlow(ctx: FlowContext): Promise<FlowResult> {
  const { definition, interaction } = ctx;
  section(definition);
  const stored = await ctx.connections.client(definition.name).catch(() => undefined);
  const consumer = await resolveConsumer(definition, stored, interaction);
  await assertClientOfOthers(ctx, { field: "consumer_key", stored: typeof stored?.consumer_key === "string" ? stored.consumer_key : undefined, next: consumer.key });
  const token = await requestAppOnlyToken(definition, consumer);
  return {
    record: newConnection({
      provider: definition.name,
      profile: ctx.profile,
      connection_name: ctx.connection,
      auth_type: "app_only",
      status: "connected",
      host_url: definition.host_url ?? null,
      access_token: token,
      token_type: "bearer",
      // an app has no user
      account: { id: null, label: null },
    }),
    client: { consumer_key: consumer.key, consumer_secret: consumer.secret },
  };
}
