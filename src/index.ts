// The library's public face: re-exports only. Importing it opens no store and starts nothing.
export {
  Authsome,
  type AuthsomeOptions,
  type AuthHeadersRequest,
  type ConnectionOption,
  type ConnectionSummary,
  type FetchOptions,
  type LibraryLoginOptions,
  type ProviderInfo,
} from "./lib/authsome.js";
export type { LoginCallbacks, DeviceCodePrompt, InputField, InputRequest } from "./lib/interaction.js";
export type { LoginSummary } from "./auth/login.js";
export type { LogoutResult, RevokeResult } from "./auth/signout.js";
export type { RemoveResult } from "./auth/remove.js";
export type { ExportFormat } from "./auth/export.js";
export * from "./errors.js";
export { TokenEndpointError, OAuthError, TemporaryTokenError } from "./auth/oauth-errors.js";
export { signOAuth1Request, type OAuth1SignInput } from "./auth/oauth1/sign.js";
export type { ProviderDefinition, Route, FlowType, AuthType } from "./providers/schema.js";
export type { ConnectionRecord, ClientRecord, ConnectionStatus, ConnectionAuthType } from "./vault/records.js";
