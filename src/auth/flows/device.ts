// The device authorization grant (RFC 8628): show a code, let the user approve it anywhere,
// poll the token endpoint until the server says yes, no, or too late.
import { setTimeout as sleep } from "node:timers/promises";
import { AuthenticationError, UsageError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import type { LoginInteraction } from "../interaction.js";
import { OAuthError } from "../oauth-errors.js";
import { deviceAuthorizationRequest, tokenRequest, type OAuthClient, type TokenResponse } from "../token-client.js";

const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

export interface DeviceOptions {
  client: OAuthClient;
  scopes: string[];
  timeoutMs: number;
  interaction: LoginInteraction;
}

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in?: number;
  interval?: number;
}

export function deviceAuthorizationUrl(def: ProviderDefinition): string | undefined {
  return def.oauth?.device_authorization_url ?? undefined;
}

export async function deviceLogin(def: ProviderDefinition, opts: DeviceOptions): Promise<TokenResponse> {
  const oauth = def.oauth;
  const endpoint = deviceAuthorizationUrl(def);
  if (!oauth || !endpoint) throw new UsageError(`provider "${def.name}" declares no device_authorization_url`);
  const auth = await requestDeviceCode(endpoint, def, opts);

  const { interaction } = opts;
  await interaction.deviceCode(
    {
      userCode: auth.user_code,
      verificationUri: auth.verification_uri,
      verificationUriComplete: auth.verification_uri_complete,
      expiresIn: auth.expires_in,
    },
    def.display_name,
  );

  // Tests shorten the wait; real use follows the server's interval.
  const override = Number(interaction.env.AUTHSOME_DEVICE_POLL_INTERVAL_MS);
  let intervalMs = override > 0 ? override : (auth.interval && auth.interval > 0 ? auth.interval : 5) * 1000;
  const lifetimeMs = auth.expires_in && auth.expires_in > 0 ? auth.expires_in * 1000 : opts.timeoutMs;
  // Past the code's lifetime the server says expired_token; the grace lets that answer arrive.
  const deadline = Date.now() + Math.min(lifetimeMs + 2 * intervalMs, opts.timeoutMs);

  for (;;) {
    await sleep(intervalMs, undefined, { signal: interaction.signal }).catch(() => {
      throw new AuthenticationError("the login was cancelled");
    });
    try {
      return await tokenRequest({
        url: oauth.token_url,
        grant: { grant_type: DEVICE_GRANT, device_code: auth.device_code },
        client: opts.client,
        responseFormat: oauth.token_response_format,
        json: oauth.device_token_request === "json",
      });
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if (err.error === "authorization_pending") {
        // keep polling
      } else if (err.error === "slow_down") {
        intervalMs += override > 0 ? override : 5000;
      } else if (err.error === "expired_token") {
        throw new AuthenticationError("the device code expired before it was approved", { hint: "run the login again and enter the code sooner" });
      } else if (err.error === "access_denied") {
        throw new AuthenticationError("the device login was denied", { hint: "run the login again and approve the access" });
      } else throw err;
    }
    if (Date.now() + intervalMs > deadline) {
      throw new AuthenticationError("the device code was not approved in time", { hint: "run the login again, or give more time with --timeout SECONDS" });
    }
  }
}

async function requestDeviceCode(endpoint: string, def: ProviderDefinition, opts: DeviceOptions): Promise<DeviceAuthorization> {
  const fields: Record<string, string> = {};
  if (opts.scopes.length) fields.scope = opts.scopes.join(" ");
  const body = await deviceAuthorizationRequest({ url: endpoint, fields, client: opts.client, json: def.oauth?.device_token_request === "json" });
  if (typeof body.device_code !== "string" || typeof body.user_code !== "string" || typeof body.verification_uri !== "string") {
    const url = new URL(endpoint);
    throw new AuthenticationError(`the device authorization endpoint ${url.origin}${url.pathname} answered without a device_code, user_code and verification_uri`, {
      hint: "check the client id and that the provider allows the device flow for it",
    });
  }
  return {
    device_code: body.device_code,
    user_code: body.user_code,
    verification_uri: body.verification_uri,
    verification_uri_complete: typeof body.verification_uri_complete === "string" ? body.verification_uri_complete : undefined,
    expires_in: Number(body.expires_in) || undefined,
    interval: Number(body.interval) || undefined,
  };
}
