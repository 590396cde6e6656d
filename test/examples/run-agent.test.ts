// examples/run-agent.mjs under `authsome run`, against the proxy tests' TLS peer standing in for
// api.openai.com: the agent holds a placeholder, the request arrives with the real key.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT } from "../helpers.js";
import { proxyFixture, SECRETS, seen, type ProxyFixture } from "../proxy/fixtures.js";

const EXAMPLE = join(ROOT, "examples/run-agent.mjs");

let fx: ProxyFixture;
before(async () => {
  fx = await proxyFixture();
});
after(async () => {
  await fx.peer.close();
});

test("run-agent: plain fetch inside `authsome run` gets the credential added by the proxy", async () => {
  const r = await fx.run([process.execPath, EXAMPLE, "https://api.openai.com/v1/run-agent"], { options: ["--provider", "openai"] });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^200 /);
  const request = seen(fx.peer, "/v1/run-agent");
  assert.equal(request.headers.authorization, `Bearer ${SECRETS.openai}`);
  assert.equal(r.stdout.includes(SECRETS.openai), false);
});
