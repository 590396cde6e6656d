// The provider definition: the Python implementation's format (schema_version 1) plus the
// fields this implementation adds. Every provider quirk is a declared field here, never code.
// Unknown fields are kept as they are (definitions round-trip through `inspect`/`register`).

export type AuthType = "oauth2" | "api_key";
export type FlowType = "pkce" | "device_code" | "dcr_pkce" | "api_key" | "oauth1" | "app_only";
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "none";

export interface OAuthSection {
  authorization_url: string;
  token_url: string;
  revocation_url?: string | null;
  device_authorization_url?: string | null;
  registration_endpoint?: string | null;
  /** dcr_pkce: the protected resource (an MCP server's URL) whose RFC 9728 metadata names the authorization server. */
  resource_url?: string | null;
  /** dcr_pkce: the authorization server's issuer, when no resource metadata names it. Default: the authorization URL's origin. */
  issuer?: string | null;
  /** Replaces `{base_url}` in the URLs above (GitHub Enterprise and the like). */
  base_url?: string | null;
  scopes?: string[];
  pkce?: boolean;
  supports_device_flow?: boolean;
  supports_dcr?: boolean;
  /** How the device-code poll is encoded (Postiz wants JSON). Default "form". */
  device_token_request?: "form" | "json";
  /** How the client authenticates at the token, refresh and revocation endpoints. Default: basic when a secret exists, else none. */
  client_auth_method?: ClientAuthMethod;
  /** Also send client_id in the body when using HTTP Basic (X wants both). */
  client_id_in_body?: boolean;
  /** Token responses may be "json", "form" (GitHub without Accept) or "auto" (by Content-Type). Default "auto". */
  token_response_format?: "json" | "form" | "auto";
  /** The provider issues a new refresh token on each refresh and the old one dies (X). */
  rotates_refresh_token?: boolean;
  /** Error codes at refresh that mean the grant is dead, besides invalid_grant (X: invalid_request). */
  dead_grant_errors?: string[];
  /** Environment variables users can set instead of typing client credentials. */
  client_id_env?: string;
  client_secret_env?: string;
  /** Extra query parameters for the authorize URL (e.g. access_type=offline). */
  authorize_params?: Record<string, string>;
  [k: string]: unknown;
}

export interface ApiKeySection {
  /** Header the key goes in. Default "Authorization". */
  header_name?: string;
  /** Text before the key, joined with one space when not empty. Default "Bearer". */
  header_prefix?: string;
  /** "raw": the key as is; "basic_username": base64("<key>:"); "basic_password": base64(":<key>") (HTTP Basic with the key as user name or password). */
  value_format?: "raw" | "basic_username" | "basic_password";
  /** A regular expression a key must match to be accepted at login. */
  key_pattern?: string;
  /** Environment variable `login` reads the key from. Default: the export variable of api_key. */
  env?: string;
  [k: string]: unknown;
}

/** OAuth 1.0a (RFC 5849) endpoints; consumer key/secret are the provider's client credentials. */
export interface OAuth1Section {
  request_token_url: string;
  authorize_url: string;
  /** The "sign in with" variant of authorize_url (X's /oauth/authenticate): an auth endpoint too, never injected. */
  authenticate_url?: string | null;
  access_token_url: string;
  invalidate_url?: string | null;
  consumer_key_env?: string;
  consumer_secret_env?: string;
  /** Environment variables holding an access token and its secret issued elsewhere (X's developer portal): login stores them as they are. */
  access_token_env?: string;
  access_token_secret_env?: string;
  [k: string]: unknown;
}

/** App-only bearer tokens from the client-credentials grant (X's /oauth2/token). */
export interface AppOnlySection {
  token_url: string;
  invalidate_url?: string | null;
  [k: string]: unknown;
}

/** Who a connection is: a GET with the credential, then JSON paths into the answer. */
export interface IdentitySection {
  url: string;
  /** Dotted path of the account id in the response (kept as a string). */
  id_path: string;
  /** Dotted path of the human label (user name, email). */
  label_path?: string;
  /** Text put before the label when shown (X: "@"). */
  label_prefix?: string;
  [k: string]: unknown;
}

/** A kind of credential a route takes; "oauth2" is also served by an app-only bearer. */
export type RouteAuthKind = "oauth2" | "api_key" | "oauth1" | "app_only";

/** A place where the proxy injects this provider's credential. */
export interface Route {
  /** Exact host ("api.x.com") or a wildcard on a whole label ("*.googleapis.com": one or more labels, never the bare suffix owner's look-alikes). */
  host: string;
  /** Only paths starting with this prefix. Default: every path. */
  path_prefix?: string;
  /** A regular expression the whole host name must match (anchored, case-insensitive), instead of `host`. */
  host_pattern?: string;
  /**
   * Which kind of credential this route takes, when the provider has several; a list names the kinds
   * it takes in order of preference (X's /2/: OAuth 2.0, else OAuth 1.0a). Default: the connection's own.
   */
  auth?: RouteAuthKind | RouteAuthKind[];
  [k: string]: unknown;
}

export interface ProviderDefinition {
  schema_version: number;
  name: string;
  display_name: string;
  auth_type: AuthType;
  /** The default login flow. */
  flow: FlowType;
  /** Other flows `login --flow` accepts for this provider. */
  flows?: FlowType[];
  oauth?: OAuthSection | null;
  api_key?: ApiKeySection | null;
  oauth1?: OAuth1Section | null;
  app_only?: AppOnlySection | null;
  identity?: IdentitySection | null;
  /** Record field (access_token, refresh_token, api_key, account.id, account.label) -> environment variable. */
  export?: { env?: Record<string, string>; [k: string]: unknown } | null;
  /** The Python format's single API host; "regex:<re>" is accepted when read, and routes nothing. */
  host_url?: string | null;
  routes?: Route[];
  /** Extra headers the proxy adds on routed requests (Notion-Version). */
  headers?: Record<string, string>;
  docs?: string | null;
  metadata?: Record<string, unknown>;
  [k: string]: unknown;
}

export type ProviderSource = "bundled" | "user";

export interface LoadedProvider {
  definition: ProviderDefinition;
  source: ProviderSource;
  /** The file it came from. */
  path: string;
}
