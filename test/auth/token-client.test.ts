// The token endpoint client against a real authorization server (oidc-provider), and
// against a tiny node:http server for answers oidc-provider never gives (GitHub's quirks).
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { OAuthError, TemporaryTokenError, TokenEndpointError } from "../../src/auth/oauth-errors.js";
import { assertSecureEndpoint } from "../../src/auth/http.js";
import { expiresAt, revokeToken, tokenRequest, type OAuthClient } from "../../src/auth/token-client.js";
import { AuthenticationError, ExitCode, UsageError } from "../../src/errors.js";
import { CLIENTS, startOidcServer, type OidcServer } from "../peers/oidc.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 120 });
});
after(() => server.close());

async function codeGrant(client: OAuthClient) {
  const { code, verifier, redirectUri } = await server.authorizationCode({ clientId: client.clientId });
  return { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri };
}

async function login(client: OAuthClient) {
  return tokenRequest({ url: server.tokenEndpoint, grant: await codeGrant(client), client });
}

/** Asserts `promise` rejects with `cls`, that no listed secret is in its message, and returns the error. */
async function rejects<T extends Error>(promise: Promise<unknown>, cls: new (...a: never[]) => T, secrets: string[] = []): Promise<T> {
  const err = await promise.then(
    () => assert.fail(`expected ${cls.name}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof cls, `expected ${cls.name}, got ${String(err)}`);
  for (const secret of secrets) assert.ok(!err.message.includes(secret), `secret leaked into: ${err.message}`);
  return err;
}

interface Seen {
  headers: IncomingMessage["headers"];
  body: string;
}
/** A one-route HTTP server on loopback that records what it was sent. */
async function tinyServer(respond: (res: ServerResponse, seen: Seen) => void) {
  const seen: Seen[] = [];
  const http = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const s = { headers: req.headers, body };
      seen.push(s);
      respond(res, s);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/token`;
  return {
    url,
    seen,
    close: () => new Promise<void>((resolve) => {
      http.closeAllConnections();
      http.close(() => resolve());
    }),
  };
}

const json = (status: number, body: unknown) => (res: ServerResponse) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));

describe("tokenRequest against oidc-provider", () => {
  for (const [name, client] of Object.entries(CLIENTS)) {
    test(`authorization_code + PKCE with ${client.authMethod}`, async () => {
      server.resetCounters();
      const tokens = await login(client);
      assert.equal(tokens.token_type, "Bearer");
      assert.equal(tokens.expires_in, 120);
      assert.ok(tokens.refresh_token, `${name}: refresh token`);
      assert.match(tokens.scope ?? "", /\bopenid\b.*\bprofile\b/);
      assert.ok(tokens.id_token);
      assert.equal(tokens.raw.access_token, tokens.access_token);
      const info = await server.userinfo(tokens.access_token);
      assert.equal(info.status, 200);
      assert.equal(info.body?.sub, "user-1");
      assert.equal((await server.introspect(tokens.access_token)).active, true);
      assert.deepEqual(
        server.tokenRequestLog().map(({ grantType, basicAuth, status, json }) => ({ grantType, basicAuth, status, json })),
        [{ grantType: "authorization_code", basicAuth: client.authMethod === "client_secret_basic", status: 200, json: false }],
      );
    });
  }

  test("offline_access is granted only with prompt=consent (oidc-provider follows OIDC Core 11)", async () => {
    const client = CLIENTS.basic;
    const without = await login(client);
    assert.doesNotMatch(without.scope ?? "", /offline_access/);
    const { code, verifier, redirectUri } = await server.authorizationCode({ clientId: client.clientId, extra: { prompt: "consent" } });
    const grant = { grant_type: "authorization_code", code, code_verifier: verifier, redirect_uri: redirectUri };
    const withConsent = await tokenRequest({ url: server.tokenEndpoint, grant, client });
    assert.match(withConsent.scope ?? "", /\boffline_access\b/);
  });

  test("Basic with client_id also in the body is accepted; secrets are trimmed", async () => {
    const client: OAuthClient = { ...CLIENTS.basic, clientSecret: `  ${CLIENTS.basic.clientSecret}\n`, clientIdInBody: true };
    assert.ok((await login(client)).access_token);
  });

  test("Basic form-urlencodes id and secret (RFC 6749 §2.3.1)", async () => {
    const secret = "p:a+s s%w/~=rd&!"; // VSCHAR only: oidc-provider refuses non-ASCII secrets
    await server.addClient({ client_id: "odd:client id", client_secret: secret, token_endpoint_auth_method: "client_secret_basic" });
    const tokens = await login({ clientId: "odd:client id", clientSecret: secret, authMethod: "client_secret_basic" });
    assert.ok(tokens.access_token);
  });

  test("refresh rotates the refresh token; the old one is then invalid_grant", async () => {
    const client = CLIENTS.post;
    const first = await login(client);
    server.resetCounters();
    const refresh = (token: string) => tokenRequest({ url: server.tokenEndpoint, grant: { grant_type: "refresh_token", refresh_token: token }, client });
    const second = await refresh(first.refresh_token!);
    assert.notEqual(second.access_token, first.access_token);
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal((await server.userinfo(second.access_token)).status, 200);

    const err = await rejects(refresh(first.refresh_token!), OAuthError, [first.refresh_token!, client.clientSecret]);
    assert.equal(err.error, "invalid_grant");
    assert.equal(err.status, 400);
    assert.ok(err.errorDescription);
    assert.ok(err instanceof AuthenticationError);
    assert.equal(err.exitCode, ExitCode.authFailed);
    assert.match(err.message, new RegExp(`token endpoint ${server.tokenEndpoint}`));
    assert.equal(server.tokenRequests("refresh_token"), 2);
  });

  test("revocation makes tokens inactive; unknown tokens revoke fine", async () => {
    const client = CLIENTS.basic;
    const tokens = await login(client);
    await revokeToken({ url: server.revocationEndpoint, token: tokens.access_token, tokenTypeHint: "access_token", client });
    assert.equal((await server.introspect(tokens.access_token)).active, false);
    assert.equal((await server.userinfo(tokens.access_token)).status, 401);
    await revokeToken({ url: server.revocationEndpoint, token: tokens.refresh_token!, tokenTypeHint: "refresh_token", client });
    assert.equal((await server.introspect(tokens.refresh_token!)).active, false);
    await revokeToken({ url: server.revocationEndpoint, token: "never-issued", client });
    const err = await rejects(
      revokeToken({ url: server.revocationEndpoint, token: tokens.access_token, client: { ...client, clientSecret: "wrong-secret" } }),
      OAuthError,
      ["wrong-secret", tokens.access_token],
    );
    assert.equal(err.error, "invalid_client");
  });

  test("wrong client secret is invalid_client, and names no secret", async () => {
    const grant = await codeGrant(CLIENTS.basic);
    const err = await rejects(
      tokenRequest({ url: server.tokenEndpoint, grant, client: { ...CLIENTS.basic, clientSecret: "wrong-secret" } }),
      OAuthError,
      ["wrong-secret", grant.code, grant.code_verifier],
    );
    assert.equal(err.error, "invalid_client");
    assert.equal(err.status, 401);
    assert.match(err.hint ?? "", /client_secret_basic/);
  });

  test("wrong PKCE verifier is invalid_grant", async () => {
    const grant = { ...(await codeGrant(CLIENTS.public)), code_verifier: "x".repeat(43) };
    const err = await rejects(tokenRequest({ url: server.tokenEndpoint, grant, client: CLIENTS.public }), OAuthError, [grant.code]);
    assert.equal(err.error, "invalid_grant");
  });

  test("500 and 503 are TemporaryTokenError", async () => {
    const grant = { grant_type: "refresh_token", refresh_token: "rt-value-secret" };
    server.failNext("500");
    const e500 = await rejects(tokenRequest({ url: server.tokenEndpoint, grant, client: CLIENTS.public }), TemporaryTokenError, ["rt-value-secret"]);
    assert.equal(e500.status, 500);
    assert.equal(e500.error, "server_error");
    server.failNext("503");
    const e503 = await rejects(tokenRequest({ url: server.tokenEndpoint, grant, client: CLIENTS.public }), TemporaryTokenError);
    assert.equal(e503.status, 503);
    assert.ok(!(e503 instanceof OAuthError));
  });

  test("an unanswered request times out as TemporaryTokenError", async () => {
    server.failNext("hang");
    const err = await rejects(
      tokenRequest({ url: server.tokenEndpoint, grant: { grant_type: "refresh_token", refresh_token: "r" }, client: CLIENTS.public, timeoutMs: 300 }),
      TemporaryTokenError,
    );
    assert.match(err.message, /no answer within 300 ms/);
  });

  test("non-JSON, oversized and access_token-less answers are TokenEndpointError", async () => {
    const grant = { grant_type: "refresh_token", refresh_token: "rt-secret-1234" };
    const call = () => tokenRequest({ url: server.tokenEndpoint, grant, client: CLIENTS.post });
    for (const [kind, pattern] of [
      ["non-json", /answered 200 with a body that is not an OAuth response \(content-type: text\/html/],
      ["oversized", /over 1048576 bytes/],
      ["no-access-token", /answered 200 without an access_token/],
    ] as const) {
      server.failNext(kind);
      const err = await rejects(call(), TokenEndpointError, ["rt-secret-1234", CLIENTS.post.clientSecret]);
      assert.ok(!(err instanceof TemporaryTokenError) && !(err instanceof OAuthError), kind);
      assert.match(err.message, pattern);
      assert.match(err.message, new RegExp(server.tokenEndpoint));
      assert.equal(err.status, 200);
    }
  });
});

describe("tokenRequest against a tiny server", () => {
  test("connection refused is TemporaryTokenError", async () => {
    const tiny = await tinyServer(json(200, {}));
    await tiny.close();
    const err = await rejects(tokenRequest({ url: tiny.url, grant: { grant_type: "refresh_token", refresh_token: "r" }, client: CLIENTS.public }), TemporaryTokenError);
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(err.status, undefined);
  });

  test("HTTP 200 carrying error (GitHub) is an OAuthError", async () => {
    const tiny = await tinyServer(json(200, { error: "bad_verification_code", error_description: "The code gh-code-123 is incorrect or expired." }));
    try {
      const err = await rejects(
        tokenRequest({ url: tiny.url, grant: { grant_type: "authorization_code", code: "gh-code-123" }, client: CLIENTS.basic }),
        OAuthError,
        ["gh-code-123"],
      );
      assert.equal(err.status, 200);
      assert.equal(err.error, "bad_verification_code");
      assert.match(err.errorDescription ?? "", /\[redacted\] is incorrect/);
    } finally {
      await tiny.close();
    }
  });

  test("form-encoded answers are parsed, by content type or by sniffing in auto mode", async () => {
    for (const type of ["application/x-www-form-urlencoded; charset=utf-8", "text/plain"]) {
      const tiny = await tinyServer((res) => res.writeHead(200, { "content-type": type }).end("access_token=gho_abc&scope=repo%2Cgist&token_type=bearer&expires_in=28800"));
      try {
        const tokens = await tokenRequest({ url: tiny.url, grant: { grant_type: "authorization_code", code: "c" }, client: CLIENTS.post });
        assert.equal(tokens.access_token, "gho_abc");
        assert.equal(tokens.scope, "repo,gist");
        assert.equal(tokens.token_type, "bearer");
        assert.equal(tokens.expires_in, 28800);
        const forced = tokenRequest({ url: tiny.url, grant: { grant_type: "authorization_code", code: "c" }, client: CLIENTS.post, responseFormat: "json" });
        await rejects(forced, TokenEndpointError);
      } finally {
        await tiny.close();
      }
    }
  });

  test("request shape per client authentication method", async () => {
    const tiny = await tinyServer(json(200, { access_token: "at", token_type: "Bearer" }));
    try {
      const grant = { grant_type: "authorization_code", code: "the-code", client_secret: "smuggled" };
      await tokenRequest({ url: tiny.url, grant, client: { clientId: "id:1", clientSecret: " s3c:ret ", authMethod: "client_secret_basic" } });
      await tokenRequest({ url: tiny.url, grant, client: { clientId: "id:1", clientSecret: "s3c:ret", authMethod: "client_secret_basic", clientIdInBody: true } });
      await tokenRequest({ url: tiny.url, grant, client: { clientId: "id:1", clientSecret: "s3c:ret", authMethod: "client_secret_post" } });
      await tokenRequest({ url: tiny.url, grant, client: { clientId: "id:1", clientSecret: "ignored", authMethod: "none" } });
      const [basic, basicBody, post, none] = tiny.seen.map((s) => ({ ...s, form: Object.fromEntries(new URLSearchParams(s.body)) }));
      assert.equal(basic!.headers.accept, "application/json");
      assert.match(basic!.headers["content-type"] ?? "", /^application\/x-www-form-urlencoded/);
      assert.equal(basic!.headers.authorization, `Basic ${Buffer.from("id%3A1:s3c%3Aret").toString("base64")}`);
      assert.deepEqual(basic!.form, { grant_type: "authorization_code", code: "the-code" });
      assert.equal(basicBody!.form.client_id, "id:1");
      assert.ok(basicBody!.headers.authorization);
      assert.equal(post!.headers.authorization, undefined);
      assert.deepEqual(post!.form, { grant_type: "authorization_code", code: "the-code", client_id: "id:1", client_secret: "s3c:ret" });
      assert.equal(none!.headers.authorization, undefined);
      assert.deepEqual(none!.form, { grant_type: "authorization_code", code: "the-code", client_id: "id:1" });
    } finally {
      await tiny.close();
    }
  });

  test("a streamed body past 1 MiB is refused without reading it all", async () => {
    let written = 0;
    const tiny = await tinyServer((res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = "a".repeat(64 * 1024);
      // Endless unless the client hangs up: the test ends only if the client stops reading.
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) written += chunk.length;
        if (!res.destroyed) res.once("drain", pump);
      };
      res.write('{"access_token":"');
      pump();
    });
    try {
      const err = await rejects(tokenRequest({ url: tiny.url, grant: { grant_type: "refresh_token", refresh_token: "r" }, client: CLIENTS.public }), TokenEndpointError);
      assert.match(err.message, /over 1048576 bytes/);
      assert.ok(written < 64 * 1024 * 1024, `server wrote ${written} bytes`);
    } finally {
      await tiny.close();
    }
  });

  test("redirects are not followed", async () => {
    const tiny = await tinyServer((res) => res.writeHead(302, { location: "https://example.com/token" }).end());
    try {
      const err = await rejects(tokenRequest({ url: tiny.url, grant: { grant_type: "refresh_token", refresh_token: "r" }, client: CLIENTS.public }), TokenEndpointError);
      assert.match(err.message, /redirect \(302\)/);
      assert.equal(tiny.seen.length, 1);
    } finally {
      await tiny.close();
    }
  });

  test("a 4xx without an OAuth error body is TokenEndpointError", async () => {
    const tiny = await tinyServer((res) => res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not Found</h1>"));
    try {
      const err = await rejects(tokenRequest({ url: tiny.url, grant: { grant_type: "refresh_token", refresh_token: "r" }, client: CLIENTS.public }), TokenEndpointError);
      assert.ok(!(err instanceof OAuthError) && !(err instanceof TemporaryTokenError));
      assert.equal(err.status, 404);
    } finally {
      await tiny.close();
    }
  });
});

describe("endpoint and client checks happen before any request", () => {
  const spy = () => {
    const calls: unknown[] = [];
    const fetchImpl = (async (...args: unknown[]) => {
      calls.push(args);
      throw new Error("must not be called");
    }) as typeof fetch;
    return { calls, fetchImpl };
  };

  test("http on a non-loopback host is rejected", async () => {
    const { calls, fetchImpl } = spy();
    const err = await rejects(
      tokenRequest({ url: "http://auth.example.com/token?x=1", grant: { grant_type: "authorization_code", code: "c0de-secret" }, client: CLIENTS.basic, fetchImpl }),
      UsageError,
      ["c0de-secret", CLIENTS.basic.clientSecret, "x=1"],
    );
    assert.match(err.message, /token endpoint http:\/\/auth\.example\.com\/token must use https/);
    await rejects(revokeToken({ url: "http://auth.example.com/revoke", token: "t", client: CLIENTS.basic, fetchImpl }), UsageError);
    assert.equal(calls.length, 0);
  });

  test("a confidential method without a secret is a UsageError", async () => {
    const { calls, fetchImpl } = spy();
    for (const authMethod of ["client_secret_basic", "client_secret_post"] as const) {
      await rejects(tokenRequest({ url: "https://auth.example.com/token", grant: { grant_type: "x" }, client: { clientId: "id", clientSecret: "  ", authMethod }, fetchImpl }), UsageError);
    }
    assert.equal(calls.length, 0);
  });

  test("assertSecureEndpoint", () => {
    for (const ok of ["https://example.com/token", "http://127.0.0.1:8080/t", "http://127.10.0.3/t", "http://[::1]:9/t", "http://localhost/t", "HTTP://LOCALHOST/t"]) {
      assert.doesNotThrow(() => assertSecureEndpoint(ok, "token endpoint"), ok);
    }
    for (const bad of ["http://example.com/t", "http://127.0.0.1.nip.io/t", "http://10.0.0.1/t", "ftp://127.0.0.1/t", "not a url", "http://[::2]/t"]) {
      assert.throws(() => assertSecureEndpoint(bad, "token endpoint"), UsageError, bad);
    }
  });
});

test("expiresAt", () => {
  const now = Date.UTC(2030, 0, 1, 0, 0, 0);
  assert.equal(expiresAt(3600, now), "2030-01-01T01:00:00.000Z");
  assert.equal(expiresAt("60", new Date(now)), "2030-01-01T00:01:00.000Z");
  assert.equal(expiresAt(undefined, now), null);
  assert.equal(expiresAt(0, now), null);
  assert.equal(expiresAt("soon", now), null);
  // a lifetime past a century is stored as one: a four-digit year, as the Python reader parses
  assert.equal(expiresAt(300_000_000_000, now), "2129-12-08T00:00:00.000Z");
  assert.equal(expiresAt(1e300, now), "2129-12-08T00:00:00.000Z");
});
