// The run's CA and its leaf certificates, read back with Node's X509 parser: what a client
// checks when it trusts the run CA, and what it must refuse.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { RunCa } from "../../src/proxy/ca.js";

const ca = new RunCa();
const caCert = new X509Certificate(ca.certPem);
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

test("the run CA is a self-signed ECDSA P-256 CA, valid now", () => {
  assert.equal(caCert.ca, true);
  assert.equal(caCert.publicKey.asymmetricKeyType, "ec");
  assert.equal(caCert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.ok(caCert.verify(caCert.publicKey), "self-signed");
  assert.ok(new Date(caCert.validFrom) < new Date() && new Date() < new Date(caCert.validTo));
  assert.notEqual(new RunCa().certPem, ca.certPem, "each run has its own CA");
});

test("a leaf names its one host, is signed by the run CA and serves TLS servers only", () => {
  const leaf = new X509Certificate(ca.leafPem("API.OpenAI.com"));
  assert.ok(leaf.checkIssued(caCert) && leaf.verify(caCert.publicKey), "issued and signed by the run CA");
  assert.equal(leaf.ca, false);
  assert.equal(leaf.checkHost("api.openai.com"), "api.openai.com");
  for (const other of ["api.openai.com.evil.test", "evil.api.openai.com", "openai.com"]) assert.equal(leaf.checkHost(other), undefined, other);
  assert.deepEqual(leaf.keyUsage, [SERVER_AUTH]);
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
});

test("IP address leaves carry the address itself (v4 and v6)", () => {
  assert.equal(new X509Certificate(ca.leafPem("127.0.0.1")).checkIP("127.0.0.1"), "127.0.0.1");
  const v6 = new X509Certificate(ca.leafPem("2001:db8::1"));
  assert.equal(v6.checkIP("2001:db8::1"), "2001:db8::1");
  assert.equal(v6.checkIP("2001:db8::2"), undefined);
  assert.equal(new X509Certificate(ca.leafPem("::1")).checkIP("::1"), "::1");
  // an IPv4 part at the end of an IPv6 address is its last two groups
  for (const [written, same] of [["::ffff:127.0.0.1", "::ffff:7f00:1"], ["1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"]]) {
    const leaf = new X509Certificate(ca.leafPem(written!));
    assert.equal(leaf.checkIP(same!), same, written);
    assert.equal(leaf.checkIP(written!), written, written);
  }
});

test("a host's TLS context is made once and reused, whatever the case of its name", () => {
  const first = ca.secureContext("api.x.com");
  assert.equal(ca.secureContext("API.X.com"), first);
  assert.notEqual(ca.secureContext("upload.x.com"), first);
});
