// Finding an authorization server from what a provider publishes:
//   RFC 9728 protected-resource metadata (MCP servers), hinted by WWW-Authenticate resource_metadata,
//   then RFC 8414 authorization-server metadata with path insertion, then OpenID discovery.
import { AuthenticationError } from "../errors.js";
import { displayUrl, requestJson } from "./http.js";
import { isLoopbackHost } from "./hosts.js";

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint?: string;
  revocation_endpoint?: string;
  code_challenge_methods_supported?: string[];
  token_endpoint_auth_methods_supported?: string[];
  scopes_supported?: string[];
  /** RFC 9207: the server puts `iss` in its authorization answers. */
  authorization_response_iss_parameter_supported?: boolean;
  [k: string]: unknown;
}

/** Whether two issuer or resource identifiers are the same URL, a trailing slash aside. */
export function sameIdentifier(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** The `resource_metadata` parameter of a `WWW-Authenticate: Bearer ...` challenge (RFC 9728 §5.1). */
export function resourceMetadataHint(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /(?:^|[\s,])resource_metadata\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/i.exec(header);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, "$1") : match[2];
}

/**
 * Well-known URLs for an identifier with a path, the well-known segment inserted between host and
 * path (RFC 8414 §3.1, RFC 9728 §3.1): https://as.example/tenant -> https://as.example/.well-known/x/tenant.
 */
export function wellKnownUrl(identifier: string, suffix: string): string {
  const url = new URL(identifier);
  const path = url.pathname.replace(/\/+$/, "");
  return `${url.origin}/.well-known/${suffix}${path}`;
}

/** Where to look for an issuer's metadata, in order: RFC 8414, OIDC with insertion, OIDC appended. */
export function authorizationServerMetadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, "");
  const urls = [wellKnownUrl(issuer, "oauth-authorization-server"), wellKnownUrl(issuer, "openid-configuration")];
  if (path) urls.push(`${url.origin}${path}/.well-known/openid-configuration`);
  return urls;
}

/**
 * The authorization servers a protected resource names. Asks the resource itself first: its 401
 * may point at the metadata; then the well-known URL with path insertion, then at the root.
 */
export async function protectedResourceAuthorizationServers(resource: string): Promise<string[]> {
  const candidates: string[] = [];
  const probe = await requestJson(resource, "protected resource").catch(() => undefined);
  const hint = resourceMetadataHint(probe?.headers.get("www-authenticate"));
  if (hint) candidates.push(new URL(hint, resource).href);
  candidates.push(wellKnownUrl(resource, "oauth-protected-resource"));
  candidates.push(`${new URL(resource).origin}/.well-known/oauth-protected-resource`);

  for (const url of [...new Set(candidates)]) {
    if (!reachableFrom(resource, url)) continue;
    const answer = await requestJson(url, "protected-resource metadata").catch(() => undefined);
    const doc = answer?.status === 200 ? answer.json : undefined;
    // RFC 9728 §3.3: a document that describes another resource must not be used
    if (typeof doc?.resource !== "string" || !sameIdentifier(doc.resource, resource)) continue;
    const servers = doc.authorization_servers;
    if (Array.isArray(servers) && servers.length && servers.every((s) => typeof s === "string" && reachableFrom(resource, s))) return servers as string[];
  }
  return [];
}

/**
 * Whether discovery may go from `resource` to `url`: https, or plain http on loopback only when
 * the resource itself is there (a local server); a remote resource cannot send authsome's
 * requests to this machine's own services.
 */
export function reachableFrom(resource: string, url: string): boolean {
  try {
    const to = new URL(url);
    if (to.protocol === "https:") return true;
    return to.protocol === "http:" && isLoopbackHost(to.hostname) && isLoopbackHost(new URL(resource).hostname);
  } catch {
    return false;
  }
}

/** The first metadata document that exists for this issuer and says it is this issuer. */
export async function authorizationServerMetadata(issuer: string): Promise<AuthorizationServerMetadata | undefined> {
  for (const url of authorizationServerMetadataUrls(issuer)) {
    const answer = await requestJson(url, "authorization-server metadata").catch(() => undefined);
    const meta = answer?.status === 200 ? answer.json : undefined;
    if (!meta) continue;
    // RFC 8414 §3.3: metadata for another issuer must not be used (mix-up attacks).
    if (typeof meta.issuer !== "string" || !sameIdentifier(meta.issuer, issuer)) {
      throw new AuthenticationError(`the metadata at ${displayUrl(new URL(url))} names the issuer ${JSON.stringify(String(meta.issuer))}, not ${JSON.stringify(issuer)}; refused`, {
        hint: "the provider's discovery documents disagree; check the definition's oauth.issuer or resource_url",
      });
    }
    if (typeof meta.authorization_endpoint !== "string" || typeof meta.token_endpoint !== "string") continue;
    return meta as AuthorizationServerMetadata;
  }
  return undefined;
}
