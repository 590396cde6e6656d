// Reading the user's own proxy from the environment, as curl, Go (gh) and Python read it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { egressFor, egressProxyFor, egressSettings, noProxyCovers, noProxyEntries } from "../../src/auth/egress.js";

test("NO_PROXY entries: *, names and their subdomains (leading dot or *. or none), ports ignored, addresses and CIDR ranges", () => {
  const entries = noProxyEntries({ NO_PROXY: "corp.example, .internal.test,*.svc.test", no_proxy: "api.example.org:443 10.0.0.0/8 [fd00::1] 192.168.1.7 fe80::/10 2.3" });
  const covered = (host: string) => noProxyCovers(entries, host);
  for (const host of ["corp.example", "a.b.corp.example", "x.internal.test", "internal.test", "db.svc.test", "API.example.org", "10.200.3.4", "fd00::1", "[fd00::1]", "192.168.1.7", "fe80::abcd"]) {
    assert.ok(covered(host), `${host} is covered`);
  }
  for (const host of ["notcorp.example", "example.org", "www.example.org", "11.0.0.1", "192.168.1.70", "fd00::2", "10.1.2.3.evil.test"]) {
    assert.ok(!covered(host), `${host} is not covered`);
  }
  assert.ok(!noProxyCovers(noProxyEntries({ NO_PROXY: "2.3" }), "10.1.2.3"), "an address is covered only by itself or a range");
  assert.ok(noProxyCovers(noProxyEntries({ no_proxy: "*" }), "anything.test"));
  assert.ok(!noProxyCovers(noProxyEntries({ NO_PROXY: "10.0.0.0/99" }), "10.0.0.1"), "a prefix out of range covers nothing");
});

test("which proxy: HTTPS_PROXY for https and HTTP_PROXY for http (upper case first, then lower), ALL_PROXY for both; host:port alone is http", () => {
  const s = egressSettings({ https_proxy: "secure.corp:8443", HTTP_PROXY: "http://plain.corp:3128", ALL_PROXY: "http://all.corp:1" });
  assert.equal(s.https?.url.href, "http://secure.corp:8443/");
  assert.equal(s.http?.url.href, "http://plain.corp:3128/");
  assert.equal(egressSettings({ HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2" }).https?.url.hostname, "upper");
  const all = egressSettings({ all_proxy: "https://all.corp" });
  assert.equal(all.https?.url.href, "https://all.corp/");
  assert.equal(all.http?.url.href, "https://all.corp/");
  assert.deepEqual(egressSettings({ HTTPS_PROXY: "  " }), { https: undefined, http: undefined, noProxy: [], unusable: [] }, "an empty value is no proxy");
});

test("a proxy's credential becomes Basic Proxy-Authorization; messages show neither its user name (it can be a key) nor its password", () => {
  const p = egressSettings({ HTTPS_PROXY: "http://corp%40dom:p%3Ass@proxy.corp:3128/some/path?q=1" }).https!;
  assert.equal(p.authorization, `Basic ${Buffer.from("corp@dom:p:ss").toString("base64")}`);
  assert.equal(p.display, "http://***:***@proxy.corp:3128");
  assert.equal(p.url.href, "http://proxy.corp:3128/", "the address holds no credential");
  const keyOnly = egressSettings({ HTTPS_PROXY: "http://APIKEY-SECRET:@proxy.corp:8010" }).https!;
  assert.equal(keyOnly.display, "http://***@proxy.corp:8010");
  assert.equal(keyOnly.authorization, `Basic ${Buffer.from("APIKEY-SECRET:").toString("base64")}`);
  assert.equal(egressSettings({ HTTPS_PROXY: "http://proxy.corp:3128" }).https!.authorization, undefined);
  // not valid percent-encoding: sent as written, as curl does
  assert.equal(egressSettings({ HTTPS_PROXY: "http://user:50%off@proxy.corp:3128" }).https!.authorization, `Basic ${Buffer.from("user:50%off").toString("base64")}`);
});

test("proxies that cannot be used are reported (credentials starred, a value that is no URL not shown) with the schemes they would have served", () => {
  const s = egressSettings({ HTTPS_PROXY: "socks5h://u:secret@127.0.0.1:1080", HTTP_PROXY: "ftp://proxy.corp", ALL_PROXY: "http://[not a url" });
  assert.equal(s.https, undefined);
  assert.equal(s.http, undefined);
  assert.deepEqual(s.unusable, [
    { problem: "socks5h://***:***@127.0.0.1:1080: only http:// and https:// proxies are supported", schemes: ["https"] },
    { problem: "ftp://proxy.corp: only http:// and https:// proxies are supported", schemes: ["http"] },
  ]);
  assert.deepEqual(egressSettings({ ALL_PROXY: "http://u:pw@proxy.corp:99999" }).unusable, [{ problem: "a value that is not a valid proxy URL", schemes: ["https", "http"] }]);
  const mixed = egressSettings({ ALL_PROXY: "socks5://proxy.corp", HTTPS_PROXY: "http://proxy.corp:3128" });
  assert.equal(mixed.https?.display, "http://proxy.corp:3128");
  assert.deepEqual(mixed.unusable, [{ problem: "socks5://proxy.corp: only http:// and https:// proxies are supported", schemes: ["http"] }]);
});

test("loopback and NO_PROXY destinations go direct; everything else through the proxy for its scheme", () => {
  const s = egressSettings({ HTTPS_PROXY: "http://s.corp:1", HTTP_PROXY: "http://p.corp:2", NO_PROXY: "internal.test" });
  assert.equal(egressFor(s, true, "api.x.com")?.url.hostname, "s.corp");
  assert.equal(egressFor(s, false, "api.x.com")?.url.hostname, "p.corp");
  for (const host of ["localhost", "LOCALHOST", "localhost.", "127.0.0.1", "127.9.9.9", "127.1", "0x7f.0.0.1", "2130706433", "::1", "[::1]", "0:0:0:0:0:0:0:1", "[::ffff:127.0.0.1]", "wiki.internal.test"]) {
    assert.equal(egressFor(s, true, host), undefined, host);
  }
  for (const host of ["128.0.0.1", "::2", "[::ffff:8.8.8.8]", "localhost.evil.test", "127.0.0.1.evil.test"]) assert.ok(egressFor(s, true, host), host);
  assert.equal(egressProxyFor(new URL("https://api.x.com/2/users"), { HTTPS_PROXY: "http://s.corp:1" })?.url.hostname, "s.corp");
  assert.equal(egressProxyFor(new URL("http://127.0.0.1:8080/token"), { HTTP_PROXY: "http://p.corp:2" }), undefined);
});
