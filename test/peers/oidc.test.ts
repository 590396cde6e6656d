// The test authorization server itself: that it is a usable OAuth 2.0 server on loopback
// http, that both interaction modes and the device flow complete, and that its hooks work.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { browse, CALLBACK_URL, CLIENTS, CookieJar, followRedirects, pkcePair, startOidcServer, type OidcServer } from "./oidc.js";

let server: OidcServer;
before(async () => {
  server = await startOidcServer({ accessTokenTtl: 60 });
});
after(() => server.close());

function authorizeUrl(clientId: string, extra: Record<string, string> = {}) {
  const { verifier, challenge } = pkcePair();
  const query = {
    client_id: clientId,
    response_type: "code",
    redirect_uri: CALLBACK_URL,
    scope: "openid offline_access profile",
    state: "s-123",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...extra,
  };
  return { url: `${server.authorizationEndpoint}?${new URLSearchParams(query)}`, verifier };
}

async function form(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", ...headers },
    body: new URLSearchParams(fields),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe("oidc peer", () => {
  test("publishes discovery for an http loopback issuer", async () => {
    const res = await fetch(`${server.issuer}/.well-known/openid-configuration`);
    const meta = (await res.json()) as Record<string, unknown>;
    assert.equal(meta.issuer, server.issuer);
    assert.equal(meta.token_endpoint, server.tokenEndpoint);
    assert.equal(meta.device_authorization_endpoint, server.deviceAuthorizationEndpoint);
    assert.equal(meta.registration_endpoint, server.registrationEndpoint);
    assert.equal(meta.revocation_endpoint, server.revocationEndpoint);
    assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);
    assert.ok((meta.scopes_supported as string[]).includes("read"));
  });

  test("auto interactions give a code and keep state", async () => {
    const { url } = authorizeUrl(CLIENTS.public.clientId);
    const back = await server.authorize(url);
    assert.equal(back.origin + back.pathname, CALLBACK_URL);
    assert.ok(back.searchParams.get("code"));
    assert.equal(back.searchParams.get("state"), "s-123");
  });

  test("PKCE is required, even for confidential clients", async () => {
    const url = new URL(authorizeUrl(CLIENTS.basic.clientId).url);
    url.searchParams.delete("code_challenge");
    url.searchParams.delete("code_challenge_method");
    const back = await server.authorize(url);
    assert.equal(back.searchParams.get("error"), "invalid_request");
    assert.match(back.searchParams.get("error_description") ?? "", /PKCE/);
  });

  test("auto-deny ends at the redirect URI with access_denied", async () => {
    server.setInteractionMode("auto-deny");
    try {
      const back = await server.authorize(authorizeUrl(CLIENTS.basic.clientId).url);
      assert.equal(back.searchParams.get("error"), "access_denied");
      assert.equal(back.searchParams.get("state"), "s-123");
    } finally {
      server.setInteractionMode("auto");
    }
  });

  test("page mode serves a login form and a consent page; deny gives access_denied", async () => {
    server.setInteractionMode("page");
    try {
      for (const choice of ["approve", "deny"] as const) {
        const jar = new CookieJar();
        const start = authorizeUrl(CLIENTS.basic.clientId).url;
        let res = await browse(jar, await jar.fetch(start), start);
        let html = await res.text();
        assert.match(html, /<input name=login/);
        assert.match(html, /id=submit/);
        const loginAction = new URL(/action="([^"]+)"/.exec(html)![1]!, server.issuer);
        res = await jar.fetch(loginAction, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "login=alice",
        });
        res = await browse(jar, res, loginAction);
        html = await res.text();
        assert.match(html, /id=approve/);
        assert.match(html, /id=deny/);
        // oidc-provider drops offline_access unless prompt=consent is sent (OIDC Core 11).
        assert.match(html, /<code id=scopes>openid profile<\/code>/);
        const actions = [...html.matchAll(/action="([^"]+)"/g)].map((m) => new URL(m[1]!, server.issuer));
        const action = actions.find((a) => a.pathname.endsWith(choice === "approve" ? "/confirm" : "/abort"))!;
        const back = await followRedirects(action, CALLBACK_URL, jar, await jar.fetch(action, { method: "POST" }));
        if (choice === "approve") assert.ok(back.searchParams.get("code"));
        else assert.equal(back.searchParams.get("error"), "access_denied");
        assert.equal(back.searchParams.get("state"), "s-123");
      }
    } finally {
      server.setInteractionMode("auto");
    }
  });

  test("device flow: pending, then approved by approveDeviceCode; deny gives access_denied", async () => {
    const start = await form(server.deviceAuthorizationEndpoint, { client_id: CLIENTS.public.clientId, scope: "openid offline_access" });
    assert.equal(start.status, 200);
    assert.match(start.body.verification_uri_complete!, /user_code=/);
    const poll = () =>
      form(server.tokenEndpoint, {
        grant_type: "urn:ietf:params:oauth:grant-type:device_code",
        device_code: start.body.device_code!,
        client_id: CLIENTS.public.clientId,
      });
    const pending = await poll();
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, "authorization_pending");
    await server.approveDeviceCode(start.body.user_code!);
    const done = await poll();
    assert.equal(done.status, 200);
    assert.ok(done.body.access_token);
    assert.ok(done.body.refresh_token);

    // The helpers complete codes even while the browser-facing pages are in page mode.
    server.setInteractionMode("page");
    const other = await form(server.deviceAuthorizationEndpoint, { client_id: CLIENTS.public.clientId });
    await server.denyDeviceCode(other.body.user_code!);
    server.setInteractionMode("auto");
    const denied = await form(server.tokenEndpoint, {
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      device_code: other.body.device_code!,
      client_id: CLIENTS.public.clientId,
    });
    assert.equal(denied.body.error, "access_denied");
  });

  test("dynamic client registration and addClient", async () => {
    const res = await fetch(server.registrationEndpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [CALLBACK_URL], grant_types: ["authorization_code", "refresh_token"], token_endpoint_auth_method: "none", application_type: "native" }),
    });
    assert.equal(res.status, 201);
    const client = (await res.json()) as Record<string, string>;
    assert.ok(client.client_id);
    server.setInteractionMode("page");
    const code = await server.authorizationCode({ clientId: client.client_id! });
    server.setInteractionMode("auto");
    assert.ok(code.code);
    await server.addClient({ client_id: "added-client", client_secret: "added-secret", token_endpoint_auth_method: "client_secret_post" });
    assert.ok((await server.authorizationCode({ clientId: "added-client" })).code);
  });

  test("failNext injects failures and token requests are counted by grant type", async () => {
    server.resetCounters();
    server.failNext("500");
    const failed = await form(server.tokenEndpoint, { grant_type: "refresh_token", refresh_token: "x", client_id: CLIENTS.public.clientId });
    assert.equal(failed.status, 500);
    const real = await form(server.tokenEndpoint, { grant_type: "refresh_token", refresh_token: "x", client_id: CLIENTS.public.clientId });
    assert.equal(real.body.error, "invalid_grant");
    assert.equal(server.tokenRequests(), 2);
    assert.equal(server.tokenRequests("refresh_token"), 2);
    assert.equal(server.tokenRequests("authorization_code"), 0);
    assert.deepEqual(
      server.tokenRequestLog().map((r) => r.status),
      [500, 400],
    );
  });

  test("userinfo and introspection answer for unknown tokens too", async () => {
    assert.equal((await server.userinfo("not-a-token")).status, 401);
    assert.equal((await server.introspect("not-a-token")).active, false);
  });
});
