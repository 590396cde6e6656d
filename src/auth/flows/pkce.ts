// Authorization code with PKCE (RFC 7636, S256) through a loopback redirect (RFC 8252).
// The code is exchanged as soon as it arrives: some providers expire it within seconds.
import { createHash, randomBytes } from "node:crypto";
import { AuthenticationError, UsageError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import { ForeignCallbackError, startCallbackServer } from "../../input/callback-server.js";
import { sameToken } from "../../input/loopback.js";
import { loginDeadlines, type AuthorizeHandle, type LoginInteraction } from "../interaction.js";
import { sameIdentifier } from "../discovery.js";
import { assertSecureEndpoint, clean } from "../http.js";
import { tokenRequest, type OAuthClient, type TokenResponse } from "../token-client.js";

export interface PkceOptions {
  client: OAuthClient;
  scopes: string[];
  port: number;
  timeoutMs: number;
  interaction: LoginInteraction;
  /** The authorization server's issuer, when discovery established it: the callback's `iss` must name it (RFC 9207). */
  issuer?: ExpectedIssuer;
}

export interface ExpectedIssuer {
  value: string;
  /** The server says it sends `iss` (authorization_response_iss_parameter_supported): a callback without one is refused. */
  required: boolean;
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** Throws unless the callback query carries a code for this state (and issuer); errors carry the server's description. */
export function checkCallback(params: URLSearchParams, state: string, issuer?: ExpectedIssuer): string {
  // The state first: an error from someone else's callback must not end this login.
  if (!sameToken(params.get("state") ?? "", state)) {
    throw new ForeignCallbackError("the login callback carried a wrong state; it did not come from this login", {
      hint: "run the login again; if this repeats, something else is calling the callback address",
    });
  }
  // RFC 9207: an answer from another authorization server than the one asked (a mix-up) is refused, errors included
  const iss = params.get("iss");
  if (issuer && (iss !== null || issuer.required) && (iss === null || !sameIdentifier(iss, issuer.value))) {
    throw new AuthenticationError(
      iss === null ? `the authorization answer carried no issuer, though ${issuer.value} says it sends one; refused` : `the authorization answer came from the issuer ${JSON.stringify(clean(iss, 300))}, not ${issuer.value}; refused`,
      { hint: "run the login again; if this repeats, the provider's authorization servers are mixed up" },
    );
  }
  const error = params.get("error");
  if (error) {
    const description = params.get("error_description");
    const what = error === "access_denied" ? "the authorization was denied" : `the authorization server returned ${clean(error, 300)}`;
    throw new AuthenticationError(`${what}${description ? `: ${clean(description, 300)}` : ""}`, {
      hint: error === "access_denied" ? "run the login again and approve the access" : "check the provider's client settings and scopes",
    });
  }
  const code = params.get("code");
  if (!code) throw new AuthenticationError("the login callback carried no authorization code", { hint: "run the login again" });
  return code;
}

export async function pkceLogin(def: ProviderDefinition, opts: PkceOptions): Promise<TokenResponse> {
  const oauth = def.oauth;
  if (!oauth) throw new UsageError(`provider "${def.name}" has no oauth section`);
  const authorize = assertSecureEndpoint(oauth.authorization_url, "authorization endpoint");
  const { verifier, challenge } = pkcePair();
  const state = randomBytes(16).toString("base64url");

  const server = await startCallbackServer(
    opts.port,
    (p) => void checkCallback(p, state, opts.issuer),
    () => opts.interaction.say("warning: ignored a request to the callback address that did not come from this login (wrong state); still waiting"),
  );
  let handle: AuthorizeHandle | undefined;
  let limits: ReturnType<typeof loginDeadlines> | undefined;
  try {
    const url = new URL(authorize);
    for (const [k, v] of Object.entries(oauth.authorize_params ?? {})) url.searchParams.set(k, String(v));
    const query: Record<string, string> = {
      response_type: "code",
      client_id: opts.client.clientId,
      redirect_uri: server.redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: "S256",
    };
    if (opts.scopes.length) query.scope = opts.scopes.join(" ");
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);

    const waiting: Promise<string>[] = [server.result.then((p) => checkCallback(p, state, opts.issuer))];
    handle = await opts.interaction.authorize(url.href, def.display_name);
    if (handle.pasted) waiting.push(handle.pasted.then((line) => checkCallback(pastedParams(line, server.redirectUri), state, opts.issuer)));
    limits = loginDeadlines(opts.timeoutMs, "no authorization arrived", opts.interaction.hints, opts.interaction.signal);
    const code = await Promise.race([...waiting, ...limits.waits]);
    return await tokenRequest({
      url: oauth.token_url,
      grant: { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: server.redirectUri },
      client: opts.client,
      responseFormat: oauth.token_response_format,
    });
  } finally {
    limits?.clear();
    handle?.stop?.();
    server.close();
  }
}

function pastedParams(line: string, redirectUri: string): URLSearchParams {
  let url: URL;
  try {
    url = new URL(line);
  } catch {
    throw new UsageError("the pasted text is not a URL", { hint: `paste the whole address the browser shows, starting with ${redirectUri}` });
  }
  return url.searchParams;
}
