// The shared OAuth 1.0a signature vectors (/work/shared/vectors/oauth1.json), as signer inputs.
import { readFileSync } from "node:fs";
import type { OAuth1SignInput } from "../../src/auth/oauth1/sign.js";

export interface Vector {
  name: string;
  method: string;
  url: string;
  form?: Record<string, string | string[]>;
  extra_oauth_params?: Record<string, string>;
  consumer_key: string;
  consumer_secret: string;
  token: string | null;
  token_secret: string | null;
  nonce: string;
  timestamp: string | number;
  oauth_version?: "1.0" | null;
  realm?: string;
  base_string?: string;
  signature: string;
}

export const vectorFile = JSON.parse(
  readFileSync(new URL("../../../shared/vectors/oauth1.json", import.meta.url), "utf8"),
) as { vectors: Vector[] };

export function vectorInput(v: Vector): OAuth1SignInput & { nonce: string; timestamp: string | number } {
  const input: OAuth1SignInput & { nonce: string; timestamp: string | number } = {
    method: v.method,
    url: v.url,
    consumerKey: v.consumer_key,
    consumerSecret: v.consumer_secret,
    token: v.token,
    tokenSecret: v.token_secret,
    nonce: v.nonce,
    timestamp: v.timestamp,
  };
  if (v.form !== undefined) input.form = v.form;
  if (v.extra_oauth_params !== undefined) input.extraOAuthParams = v.extra_oauth_params;
  if (v.oauth_version !== undefined) input.version = v.oauth_version;
  if (v.realm !== undefined) input.realm = v.realm;
  return input;
}

