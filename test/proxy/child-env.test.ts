// The trust files `authsome run` gives its child: the run CA for Node, and for every other
// runtime a bundle that still holds the system's roots (so the child's other hosts, tunnelled
// untouched, verify as before) and the user's own bundles.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { RunCa } from "../../src/proxy/ca.js";
import { BUNDLE_VARIABLES, childEnv } from "../../src/proxy/child-env.js";
import { tempDir } from "../helpers.js";

const certs = (text: string) => (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
const certsIn = (file: string) => certs(readFileSync(file, "utf8"));
/** The system's roots as the child's other runtimes know them: Debian's bundle, else Node's own. */
const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
const systemRoots = () => (existsSync(SYSTEM_BUNDLE) ? certsIn(SYSTEM_BUNDLE) : certs(rootCertificates.join("\n")));

function trustFor(base: NodeJS.ProcessEnv) {
  const runCa = new RunCa();
  const env = childEnv({ base, proxyUrl: "http://authsome:t@127.0.0.1:1", dir: tempDir(), caPem: runCa.certPem, placeholders: [], remove: [] });
  return { env, run: new X509Certificate(runCa.certPem).fingerprint256 };
}

test("Node gets the run CA; every bundle variable names one bundle of the system roots and the run CA", () => {
  const { env, run } = trustFor({ PATH: process.env.PATH });
  assert.deepEqual(certsIn(env.NODE_EXTRA_CA_CERTS!), [run], "Node adds NODE_EXTRA_CA_CERTS to its own roots: the run CA alone");
  const bundle = env.SSL_CERT_FILE!;
  for (const name of BUNDLE_VARIABLES) assert.equal(env[name], bundle, name);
  const system = systemRoots();
  assert.ok(system.length > 50, "the system bundle is a real one");
  assert.deepEqual(certsIn(bundle), [...system, run]);
});

test("the user's own CA files stay trusted: theirs first, then the run CA", () => {
  const dir = tempDir();
  const mine = new RunCa().certPem;
  const nodeExtra = new RunCa().certPem;
  writeFileSync(join(dir, "mine.pem"), mine);
  writeFileSync(join(dir, "node-extra.pem"), nodeExtra);
  const { env, run } = trustFor({ REQUESTS_CA_BUNDLE: join(dir, "mine.pem"), NODE_EXTRA_CA_CERTS: join(dir, "node-extra.pem") });
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256;
  assert.deepEqual(certsIn(env.NODE_EXTRA_CA_CERTS!), [fp(nodeExtra), run]);
  const bundle = certsIn(env.REQUESTS_CA_BUNDLE!);
  assert.deepEqual(bundle.slice(-2), [fp(mine), run]);
  assert.equal(env.REQUESTS_CA_BUNDLE, env.CURL_CA_BUNDLE, "one bundle for every variable");
});

test("NO_PROXY and no_proxy are joined, with loopback added; neither list is lost", () => {
  const { env } = trustFor({ NO_PROXY: "a.test,shared.test", no_proxy: "b.test, shared.test" });
  assert.equal(env.NO_PROXY, "a.test,shared.test,b.test,localhost,127.0.0.1,::1");
  assert.equal(env.no_proxy, env.NO_PROXY);
});
