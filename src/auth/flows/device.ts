// The device authorization grant (RFC 8628): show a code, let the user approve it anywhere,
// poll the token endpoint until the server says yes, no, or too late.
import { setTimeout as sleep } from "node:timers/promises";
import { AuthenticationError, UsageError } from "../../errors.js";
import type { ProviderDefinition } from "../../providers/schema.js";
import type { LoginInteraction } from "../interaction.js";
import { OAuthError, TemporaryTokenError } from "../oauth-errors.js";
import { assertSecureEndpoint, displayUrl } from "../http.js";
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

/** The longest wait between polls after the server or the network failed. */
const MAX_BACKOFF_MS = 60_000;

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

  /** The last failure of the server or the network while polling: what the person is told if time runs out after it. */
  let trouble: TemporaryTokenError | undefined;
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
      if (!(err instanceof OAuthError) && !(err instanceof TemporaryTokenError)) throw err;
      if (err.error === "authorization_pending") {
        trouble = undefined; // the server answers again: keep polling
      } else if (err.error === "slow_down") {
        trouble = undefined;
        intervalMs += override > 0 ? override : 5000;
      } else if (err.error === "expired_token") {
        throw new AuthenticationError("the device code expired before it was approved", { hint: "run the login again and enter the code sooner" });
      } else if (err.error === "access_denied") {
        throw new AuthenticationError("the device login was denied", { hint: "run the login again and approve the access" });
      } else if (err instanceof TemporaryTokenError) {
        // a busy or failing server, or the network, while the person may still be approving:
        // keep polling, half as often each time (RFC 8628 3.5)
        trouble = err;
        intervalMs = Math.min(intervalMs * 2, MAX_BACKOFF_MS);
      } else throw err;
    }
    if (Date.now() + intervalMs > deadline) {
      if (trouble) throw trouble;
      throw new AuthenticationError("the device code was not approved in time", { hint: `run the login again, or ${interaction.hints.moreTime}` });
    }
  }
}

async function requestDeviceCode(endpoint: string, def: ProviderDefinition, opts: DeviceOptions): Promise<DeviceAuthorization> {
  const fields: Record<string, string> = {};
  if (opts.scopes.length) fields.scope = opts.scopes.join(" ");
  const body = await deviceAuthorizationRequest({ url: endpoint, fields, client: opts.client, json: def.oauth?.device_token_request === "json" });
  const where = `the device authorization endpoint ${displayUrl(new URL(endpoint))}`;
  if (typeof body.device_code !== "string" || typeof body.user_code !== "string" || typeof body.verification_uri !== "string") {
    throw new AuthenticationError(`${where} answered without a device_code, user_code and verification_uri`, {
      hint: "check the client id and that the provider allows the device flow for it",
    });
  }
  // shown on the terminal and opened in a browser: no control characters (escape sequences), only web addresses
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(body.user_code) || body.user_code.length > 64) throw new AuthenticationError(`${where} answered with a user_code that cannot be shown; refused`);
  const verificationUri = webAddress(body.verification_uri);
  if (!verificationUri) throw new AuthenticationError(`${where} answered with a verification_uri that is not an https address; refused`);
  return {
    device_code: body.device_code,
    user_code: body.user_code,
    verification_uri: verificationUri,
    verification_uri_complete: typeof body.verification_uri_complete === "string" ? webAddress(body.verification_uri_complete) : undefined,
    expires_in: Number(body.expires_in) || undefined,
    interval: Number(body.interval) || undefined,
  };
}

/** An https address (http on loopback, for local servers), as the URL standard writes it; else undefined. */
function webAddress(value: string): string | undefined {
  try {
    return assertSecureEndpoint(value, "verification URI").href;
  } catch {
    return undefined;
  }
}
