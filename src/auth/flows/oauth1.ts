// OAuth 1.0a login (RFC 5849), three ways:
// - three-legged: request_token with a loopback oauth_callback, authorize in the browser,
//   access_token with the verifier the redirect carries;
// - PIN (out of band): request_token with oauth_callback=oob, the person reads the PIN the
//   authorize page shows and types it; chosen when no browser can be opened, or with --pin;
// - existing tokens: an access token and secret issued elsewhere (X's developer portal), from
//   the definition's variables or asked for, checked at the identity endpoint and stored.
import { AuthenticationError, CredentialMissingError, UsageError } from "../../errors.js";
import type { OAuth1Section, ProviderDefinition } from "../../providers/schema.js";
import { SCHEMA_FILE } from "../../providers/validate.js";
import { ForeignCallbackError, startCallbackServer } from "../../input/callback-server.js";
import { sameToken } from "../../input/loopback.js";
import { newConnection, type ConnectionRecord } from "../../vault/records.js";
import { assertClientOfOthers } from "../client-credentials.js";
import { loginDeadlines, type AuthorizeHandle } from "../interaction.js";
import type { FlowContext, FlowResult } from "../login.js";
import { assertSecureEndpoint } from "../http.js";
import type { Identity } from "../identity.js";
import { formAnswer, oauth1Identity, oauth1Request } from "../oauth1/client.js";
import { resolveConsumer, type OAuth1Consumer } from "../oauth1/consumer.js";

interface TemporaryCredentials {
  token: string;
  secret: string;
}

function section(def: ProviderDefinition): OAuth1Section {
  if (!def.oauth1) throw new UsageError(`provider "${def.name}" has no oauth1 section`, { hint: `add one to its definition (see ${SCHEMA_FILE})` });
  return def.oauth1;
}

const loginAgain = "run the login again";

/** Step 1: temporary credentials, with the callback (a loopback URL or "oob"). */
export async function requestToken(def: ProviderDefinition, consumer: OAuth1Consumer, callback: string): Promise<TemporaryCredentials> {
  const what = "request_token endpoint";
  const answer = await oauth1Request({ method: "POST", url: section(def).request_token_url, what, consumer, oauthParams: { oauth_callback: callback } });
  const params = formAnswer(answer, what, "check the API key and secret, and that the app's callback URLs include the one authsome uses");
  if (params.get("oauth_callback_confirmed") !== "true") {
    throw new AuthenticationError(`the ${what} ${answer.endpoint} did not confirm the callback (oauth_callback_confirmed is not "true")`, {
      hint: "the server may not support OAuth 1.0a revision A; check the definition's URLs",
    });
  }
  return { token: params.get("oauth_token")!, secret: params.get("oauth_token_secret")! };
}

export interface TokenCredentials {
  token: string;
  secret: string;
  account: Identity;
}

/** Step 3: token credentials for the verifier (from the redirect, or the PIN). */
export async function accessToken(def: ProviderDefinition, consumer: OAuth1Consumer, temp: TemporaryCredentials, verifier: string): Promise<TokenCredentials> {
  const what = "access_token endpoint";
  const answer = await oauth1Request({
    method: "POST",
    url: section(def).access_token_url,
    what,
    consumer,
    token: temp.token,
    tokenSecret: temp.secret,
    oauthParams: { oauth_verifier: verifier },
  });
  const params = formAnswer(answer, what, "the verifier or PIN may be wrong or already used; run the login again");
  return {
    token: params.get("oauth_token")!,
    secret: params.get("oauth_token_secret")!,
    account: { id: params.get("user_id") || null, label: params.get("screen_name") || null },
  };
}

/** The verifier of a redirect for this request token; throws on a denial or a foreign token. */
export function checkOAuth1Callback(params: URLSearchParams, requestToken: string): string {
  // X denies with ?denied=<request token>: a callback for another request token is not ours to act on
  const token = params.get("oauth_token") ?? params.get("denied") ?? "";
  if (!sameToken(token, requestToken)) {
    throw new ForeignCallbackError("the login callback carried a different request token; it did not come from this login", {
      hint: "run the login again; if this repeats, something else is calling the callback address",
    });
  }
  if (params.has("denied")) {
    throw new AuthenticationError("the authorization was denied", { hint: "run the login again and authorize the app" });
  }
  const verifier = params.get("oauth_verifier");
  if (!verifier) throw new AuthenticationError("the login callback carried no oauth_verifier", { hint: loginAgain });
  return verifier;
}

function authorizeUrl(def: ProviderDefinition, temp: TemporaryCredentials): string {
  const url = assertSecureEndpoint(section(def).authorize_url, "authorize endpoint");
  url.searchParams.set("oauth_token", temp.token);
  return url.href;
}

async function threeLegged(ctx: FlowContext, consumer: OAuth1Consumer): Promise<TokenCredentials> {
  const { definition, interaction } = ctx;
  let temp: TemporaryCredentials | undefined;
  const server = await startCallbackServer(
    ctx.options.port,
    (p) => {
      if (!temp) throw new ForeignCallbackError("a login callback arrived before this login asked for one");
      checkOAuth1Callback(p, temp.token);
    },
    () => interaction.say("warning: ignored a request to the callback address that did not come from this login; still waiting"),
  );
  let handle: AuthorizeHandle | undefined;
  const limits = loginDeadlines(ctx.options.timeoutMs, "no authorization arrived", interaction.hints, interaction.signal);
  try {
    const requested = await requestToken(definition, consumer, server.redirectUri);
    temp = requested;
    const waiting: Promise<string>[] = [server.result.then((p) => checkOAuth1Callback(p, requested.token)), ...limits.waits];
    handle = await interaction.authorize(authorizeUrl(definition, requested), definition.display_name);
    // no browser opened: the address the browser ended on can be pasted, as with OAuth 2.0
    if (handle.pasted) waiting.push(handle.pasted.then((line) => checkOAuth1Callback(pastedParams(line, server.redirectUri), requested.token)));
    const verifier = await Promise.race(waiting);
    return await accessToken(definition, consumer, requested, verifier);
  } finally {
    limits.clear();
    handle?.stop?.();
    server.close();
  }
}

function pastedParams(line: string, redirectUri: string): URLSearchParams {
  try {
    return new URL(line).searchParams;
  } catch {
    throw new UsageError("the pasted text is not a URL", { hint: `paste the whole address the browser shows, starting with ${redirectUri}` });
  }
}

/** A PIN as typed: surrounding space removed; it must be digits (X's are 7). */
export function checkPin(value: string): string | undefined {
  return /^\s*[0-9]{4,16}\s*$/.test(value) ? undefined : "the PIN is the number the authorization page shows (digits only)";
}

async function pinFlow(ctx: FlowContext, consumer: OAuth1Consumer): Promise<TokenCredentials> {
  const { definition, interaction } = ctx;
  const temp = await requestToken(definition, consumer, "oob");
  const limits = loginDeadlines(ctx.options.timeoutMs, "no PIN arrived", ctx.interaction.hints, ctx.interaction.signal);
  let handle: AuthorizeHandle | undefined;
  try {
    handle = await interaction.authorize(authorizeUrl(definition, temp), definition.display_name, "pin");
    let pin: Promise<string>;
    if (handle.pasted) {
      pin = handle.pasted;
    } else if (interaction.ask) {
      const ask = interaction.ask;
      pin = ask({ title: `${definition.display_name} PIN`, fields: [{ name: "pin", label: `PIN shown by ${definition.display_name}`, secret: false, check: checkPin }] }).then((a) => a.pin ?? "");
    } else {
      throw new CredentialMissingError("the PIN flow needs a way to enter the PIN, and there is none here", { hint: interaction.hints.toBeAsked });
    }
    pin.catch(() => {}); // raced below; a late failure after the race is over must not crash
    const value = (await Promise.race([pin, ...limits.waits])).trim();
    const problem = checkPin(value);
    if (problem) throw new AuthenticationError(problem, { hint: loginAgain });
    return await accessToken(definition, consumer, temp, value);
  } finally {
    limits.clear();
    handle?.stop?.();
  }
}

/** Token credentials issued elsewhere: the definition's variables, else asked; checked at the identity endpoint. */
async function existingTokens(ctx: FlowContext, consumer: OAuth1Consumer): Promise<TokenCredentials> {
  const { definition, interaction } = ctx;
  const s = section(definition);
  const env = (name?: string) => (name ? interaction.env[name]?.trim() || undefined : undefined);
  let token = env(s.access_token_env);
  let secret = env(s.access_token_secret_env);
  if ((!token || !secret) && interaction.ask) {
    const answers = await interaction.ask({
      title: `${definition.display_name} access token and secret`,
      fields: [
        { name: "access_token", label: "Access token", secret: true },
        { name: "access_token_secret", label: "Access token secret", secret: true },
      ],
    });
    token = answers.access_token?.trim() || undefined;
    secret = answers.access_token_secret?.trim() || undefined;
  }
  if (!token || !secret) {
    const names = [s.access_token_env, s.access_token_secret_env].filter(Boolean).join(" and ");
    throw new CredentialMissingError(`no OAuth 1.0a access token and secret were given for "${definition.name}"`, {
      hint: `${names ? `set ${names} in the environment, or ` : ""}${interaction.hints.toBeAsked} to be asked`,
    });
  }
  if (/[\r\n]/.test(token) || /[\r\n]/.test(secret)) throw new CredentialMissingError("the access token or its secret contains a line break");
  // nothing is stored that the provider does not accept
  const account = definition.identity?.url ? await oauth1Identity(definition.identity, consumer, token, secret) : { id: null, label: null };
  return { token, secret, account };
}

function wantsExistingTokens(ctx: FlowContext): boolean {
  if (ctx.options.existingToken) return true;
  if (ctx.options.pin) return false; // asked for explicitly: the variables stay unused
  const s = ctx.definition.oauth1;
  const set = (name?: string) => Boolean(name && ctx.interaction.env[name]?.trim());
  return set(s?.access_token_env) && set(s?.access_token_secret_env);
}

export function oauth1Connection(def: ProviderDefinition, where: { profile: string; connection: string }, creds: TokenCredentials): ConnectionRecord {
  return newConnection({
    provider: def.name,
    profile: where.profile,
    connection_name: where.connection,
    auth_type: "oauth1",
    status: "connected",
    host_url: def.host_url ?? null,
    access_token: creds.token,
    token_secret: creds.secret,
    account: { id: creds.account.id, label: creds.account.label },
  });
}

export async function oauth1Flow(ctx: FlowContext): Promise<FlowResult> {
  const { definition, interaction } = ctx;
  section(definition);
  if (ctx.options.pin && ctx.options.existingToken) throw new UsageError("--pin and --existing-token exclude each other");
  const stored = await ctx.connections.client(definition.name).catch(() => undefined);
  const consumer = await resolveConsumer(definition, stored, interaction);
  await assertClientOfOthers(ctx, { field: "consumer_key", stored: typeof stored?.consumer_key === "string" ? stored.consumer_key : undefined, next: consumer.key });
  let creds: TokenCredentials;
  if (wantsExistingTokens(ctx)) creds = await existingTokens(ctx, consumer);
  else if (ctx.options.pin || interaction.canOpenBrowser?.() === false) creds = await pinFlow(ctx, consumer);
  else creds = await threeLegged(ctx, consumer);
  return {
    record: oauth1Connection(definition, { profile: ctx.profile, connection: ctx.connection }, creds),
    client: { consumer_key: consumer.key, consumer_secret: consumer.secret },
  };
}

