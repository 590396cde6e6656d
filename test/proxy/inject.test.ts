// The login command the proxy names when it cannot produce a credential: following it must give
// the route's connection a credential of the kind the route takes, in the run's profile.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Home } from "../../src/home/home.js";
import { CredentialSource } from "../../src/proxy/inject.js";
import { Connections } from "../../src/vault/connections.js";
import { Vault } from "../../src/vault/store.js";
import { emptyHome } from "../helpers.js";

test("the login a 502 names carries the flow of OAuth 1.0a and app-only routes, the connection and the profile", () => {
  const source = (profile: string) => new CredentialSource(new Connections(new Vault(new Home(emptyHome()), profile)), new Map(), 300);
  assert.equal(source("default").loginFor({ provider: "x", connection: "default", authType: "oauth2" }), "authsome login x");
  assert.equal(source("default").loginFor({ provider: "x", connection: "v1", authType: "oauth1" }), "authsome login x --flow oauth1 --connection v1");
  assert.equal(source("work").loginFor({ provider: "x", connection: "app", authType: "app_only" }), "authsome login x --flow app_only --connection app --profile work");
});
