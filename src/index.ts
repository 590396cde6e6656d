// The library's public face: re-exports only. Importing it opens no store and starts nothing.
export * from "./errors.js";
export { signOAuth1Request, type OAuth1SignInput } from "./auth/oauth1/sign.js";
export type { ProviderDefinition, Route, FlowType, AuthType } from "./providers/schema.js";
export type { ConnectionRecord, ClientRecord, ConnectionStatus } from "./vault/records.js";
