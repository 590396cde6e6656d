// The provider's state record (last refresh): what else it holds, the Python implementation's fields included, is kept.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Home } from "../../src/home/home.js";
import { Connections } from "../../src/vault/connections.js";
import { keys, SCHEMA_VERSION } from "../../src/vault/records.js";
import { Vault } from "../../src/vault/store.js";
import { emptyHome } from "../helpers.js";

test("recording a refresh keeps the state record's other fields", async () => {
  const vault = new Vault(new Home(emptyHome()), "default");
  const connections = new Connections(vault);
  await vault.write([[keys.state("default", "x"), { schema_version: SCHEMA_VERSION, provider: "x", profile: "default", last_refresh_at: null, last_refresh_error: null, metadata: { note: "kept" }, python_field: 7 }]]);
  await connections.recordRefresh("x", "invalid_grant");
  const state = (await connections.state("x"))!;
  assert.equal(state.last_refresh_error, "invalid_grant");
  assert.ok(typeof state.last_refresh_at === "string");
  assert.deepEqual([state.metadata, state.python_field], [{ note: "kept" }, 7]);
  vault.close();
});
