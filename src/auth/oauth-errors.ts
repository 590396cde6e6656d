// Errors from OAuth 2.0 endpoints (token, revocation). All are authentication failures
// (exit code 4) unless a caller, such as refresh, wraps them in its own category.
// Messages name the endpoint (origin and path only) and never carry a secret.
import { AuthenticationError } from "../errors.js";

export interface EndpointErrorDetails {
  /** The endpoint, without query or credentials. */
  endpoint: string;
  /** HTTP status, when a response arrived. */
  status?: number;
  hint?: string;
  cause?: unknown;
}

/** The endpoint answered something that is not a usable OAuth response (garbage, too big, no access_token). */
export class TokenEndpointError extends AuthenticationError {
  static override readonly errorName: string = "TokenEndpointError";
  readonly endpoint: string;
  readonly status: number | undefined;
  constructor(message: string, details: EndpointErrorDetails) {
    super(message, { hint: details.hint, cause: details.cause });
    this.endpoint = details.endpoint;
    this.status = details.status;
  }
}

/** The server refused with an OAuth error (`invalid_grant`, `invalid_client`, ...), whatever the HTTP status. */
export class OAuthError extends TokenEndpointError {
  static override readonly errorName: string = "OAuthError";
  readonly error: string;
  readonly errorDescription: string | undefined;
  constructor(message: string, details: EndpointErrorDetails & { error: string; errorDescription?: string }) {
    super(message, details);
    this.error = details.error;
    this.errorDescription = details.errorDescription;
  }
}

/**
 * The endpoint could not be reached, timed out, or failed on its side (5xx, 429,
 * `temporarily_unavailable`): worth retrying later, and a cached token stays usable.
 */
export class TemporaryTokenError extends TokenEndpointError {
  static override readonly errorName: string = "TemporaryTokenError";
  readonly error: string | undefined;
  readonly errorDescription: string | undefined;
  constructor(message: string, details: EndpointErrorDetails & { error?: string; errorDescription?: string }) {
    super(message, details);
    this.error = details.error;
    this.errorDescription = details.errorDescription;
  }
}
