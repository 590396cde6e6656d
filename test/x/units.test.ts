// The small pure pieces of the X flows, against X's documented examples.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CredentialMissingError } from "../../src/errors.js";
import { consumerBasic } from "../../src/auth/flows/app-only.js";
import { checkOAuth1Callback, checkPin } from "../../src/auth/flows/oauth1.js";
import { serverReason } from "../../src/auth/oauth1/client.js";
import { resolveConsumer, storedConsumer } from "../../src/auth/oauth1/consumer.js";
import { CLI_HINTS, type LoginInteraction } from "../../src/auth/interaction.js";
import type { ClientRecord } from "../../src/vault/records.js";
import type { ProviderDefinition } from "../../src/providers/schema.js";
import { readFileSync } from "node:fs";

const X = JSON.parse(readFileSync(new URL("../../src/providers/catalog/x.json", import.meta.url), "utf8")) as ProviderDefinition;

test("app-only Basic credentials: X's documented example", () => {
  assert.equal(
    consumerBasic({ key: "xvz1evFS4wEEPTGEFPHBog", secret: "L8qq9PZyRg6ieKGEKhZolGC0vJWLw8iEJ88DRdyOg" }),
    "Basic eHZ6MWV2RlM0d0VFUFRHRUZQSEJvZzpMOHFxOVBaeVJnNmllS0dFS2hab2xHQzB2SldMdzhpRUo4OERSZHlPZw==",
  );
  // each half is urlencoded first (RFC 1738 as X writes), so ':' in a key cannot shift the split
  assert.equal(Buffer.from(consumerBasic({ key: "a:b", secret: "c d" }).slice(6), "base64").toString(), "a%3Ab:c%20d");
});

test("the OAuth 1.0a callback: the verifier for our request token; a denial or another token is refused", () => {
  assert.equal(checkOAuth1Callback(new URLSearchParams("oauth_token=rt&oauth_verifier=v1"), "rt"), "v1");
  assert.throws(() => checkOAuth1Callback(new URLSearchParams("denied=rt"), "rt"), /denied/);
  assert.throws(() => checkOAuth1Callback(new URLSearchParams("oauth_token=other&oauth_verifier=v1"), "rt"), /different request token/);
  assert.throws(() => checkOAuth1Callback(new URLSearchParams("oauth_token=rt"), "rt"), /no oauth_verifier/);
});

test("a PIN is digits", () => {
  assert.equal(checkPin("1234567"), undefined);
  assert.equal(checkPin(" 1234567\n"), undefined);
  assert.match(checkPin("12a4567") ?? "", /digits only/);
  assert.match(checkPin("") ?? "", /digits only/);
});

test("X's error shapes become a short reason", () => {
  assert.equal(serverReason({ text: '{"errors":[{"code":89,"message":"Invalid or expired token."}]}' }), "Invalid or expired token. (code 89)");
  assert.equal(serverReason({ text: '{"error":"invalid_request","error_description":"Value passed for the token was invalid."}' }), "Value passed for the token was invalid.");
  assert.equal(serverReason({ text: '{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}' }), "Unauthorized");
  assert.equal(serverReason({ text: "<html><body>oops</body></html>" }), undefined);
});

function interaction(env: Record<string, string>, answers?: Record<string, string>): LoginInteraction & { asked: string[][] } {
  const asked: string[][] = [];
  return {
    env,
    hints: CLI_HINTS,
    asked,
    say: () => {},
    authorize: async () => ({}),
    deviceCode: async () => {},
    ask: answers
      ? async (req) => {
          asked.push(req.fields.map((f) => `${f.name}:${f.secret ? "secret" : "plain"}`));
          return answers;
        }
      : undefined,
  };
}

const client = (fields: Partial<ClientRecord>): ClientRecord => ({
  schema_version: 2, profile: "default", provider: "x", client_id: "oauth2-id", client_secret: "oauth2-secret", base_url: null, host_url: null, scopes: null, metadata: {}, ...fields,
});

test("the consumer: variables first (trimmed), then the stored one, then asked; never the OAuth 2.0 client", async () => {
  assert.deepEqual(await resolveConsumer(X, undefined, interaction({ X_API_KEY: " k \n", X_API_SECRET: "s\n" })), { key: "k", secret: "s" });
  const stored = client({ consumer_key: "sk", consumer_secret: "ss" });
  assert.deepEqual(await resolveConsumer(X, stored, interaction({})), { key: "sk", secret: "ss" });
  // a stored secret belongs to the stored key: another key from the environment means asking for its secret
  const ask = interaction({ X_API_KEY: "other" }, { consumer_secret: " typed " });
  assert.deepEqual(await resolveConsumer(X, stored, ask), { key: "other", secret: "typed" });
  assert.deepEqual(ask.asked, [["consumer_secret:secret"]]);
  // the OAuth 2.0 client id/secret are not a consumer
  assert.equal(storedConsumer(client({})), undefined);
  await assert.rejects(resolveConsumer(X, client({}), interaction({})), (err: unknown) => err instanceof CredentialMissingError && /X_API_KEY and X_API_SECRET/.test(err.hint ?? ""));
});
