// What the proxy must never do: serve a process without the run's credential, send a token to
// a host it is not routed to (look-alikes, redirects), or put a secret in the child's environment.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cliAsync, SYSTEM_PYTHON } from "../helpers.js";
import { startTlsPeer } from "../peers/tls-server.js";
import { proxyFixture, SECRETS, seen, type ProxyFixture } from "./fixtures.js";

let fx: ProxyFixture;
before(async () => {
  fx = await proxyFixture();
});
after(async () => {
  await fx.peer.close();
});

const ALL_SECRETS = Object.entries(SECRETS).filter(([k]) => k !== "xConsumerKey").map(([, v]) => v);

function assertNoSecret(text: string, where: string): void {
  for (const secret of ALL_SECRETS) assert.ok(!text.includes(secret), `${where} holds a secret`);
}

test("a process without the proxy credential gets 407, with a wrong one too", async () => {
  const script = [
    'P="${HTTPS_PROXY#http://*@}"', // 127.0.0.1:PORT without the credential
    'curl -s -o /dev/null -w "%{http_connect}\\n" --proxy "http://$P" https://api.openai.com/v1/no-auth',
    'curl -s -o /dev/null -w "%{http_connect}\\n" --proxy "http://authsome:wrong@$P" https://other.test/wrong-auth',
    'curl -s -o /dev/null -w "%{http_code}\\n" --proxy "http://$P" http://other.test/plain',
    "true",
  ].join("; ");
  const r = await fx.run(["sh", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["407", "407", "407"]);
  assert.equal(fx.peer.requests.length, 0, "nothing reached the service");
});

test("the proxy credential's scheme is read without regard to case, as RFC 9110 has it", async () => {
  const probe = String.raw`
import base64, os, socket, urllib.parse
p = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
good = base64.b64encode(f"authsome:{p.password}".encode()).decode()
for value in [f"basic {good}", f"BASIC  {good}", f"Basic {base64.b64encode(b'authsome:wrong').decode()}", good]:
    s = socket.create_connection((p.hostname, p.port))
    s.sendall(f"CONNECT other.test:443 HTTP/1.1\r\nHost: other.test:443\r\nProxy-Authorization: {value}\r\n\r\n".encode())
    print(s.recv(100).split(b" ")[1].decode())
    s.close()
`;
  const r = await fx.run([SYSTEM_PYTHON, "-c", probe]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["200", "200", "407", "407"]);
});

test("a look-alike host is tunnelled untouched: no token, the child's own TLS", async () => {
  const own = `--cacert ${fx.peer.caFile} --cert ${fx.peer.clientCertFile} --key ${fx.peer.clientKeyFile}`;
  const r = await fx.run(["sh", "-c", `curl -sS --fail ${own} -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com.evil.test/v1/lookalike`]);
  assert.equal(r.code, 0, r.stderr);
  const q = seen(fx.peer, "/v1/lookalike");
  assert.equal(q.sni, "api.openai.com.evil.test");
  assert.equal(q.headers.authorization, "Bearer authsome-proxy-managed");
  assert.equal(q.clientCert, true, "the peer saw the child's handshake (a client certificate only the child has)");
});

test("a redirect to another host never carries the token, even when the client re-sends headers", async () => {
  // other.test is not routed: tunnelled, so the child checks its certificate itself (bundle + peer CA)
  const r = await fx.run([
    "sh",
    "-c",
    `cat "$SSL_CERT_FILE" ${fx.peer.caFile} > "$(dirname "$SSL_CERT_FILE")/with-peer.pem" && curl -sS --fail -L --location-trusted --cacert "$(dirname "$SSL_CERT_FILE")/with-peer.pem" -H "Authorization: Bearer $OPENAI_API_KEY" "https://api.openai.com/redirect?to=https://other.test/landing"`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(seen(fx.peer, "/redirect?to=https://other.test/landing").headers.authorization, `Bearer ${SECRETS.openai}`);
  const landing = seen(fx.peer, "/landing");
  assert.equal(landing.host, "other.test");
  assert.equal(landing.headers.authorization, "Bearer authsome-proxy-managed");
  assert.equal(landing.clientCert, false);
});

test("upstream TLS is verified: a service whose certificate is not trusted, or names another host, gets nothing; the child gets 502 saying why", async () => {
  const curl = 'curl -s -w " %{http_code}" -H "Authorization: Bearer $OPENAI_API_KEY" https://api.openai.com/v1/unverified';
  // without --upstream-ca, the peer's own CA is not trusted
  const untrusted = await cliAsync(["run", ...fx.resolveArgs, "--", "sh", "-c", curl], { home: fx.home });
  assert.equal(untrusted.code, 0, untrusted.stderr);
  assert.match(untrusted.stdout, /"upstream_certificate_untrusted".*the certificate of api\.openai\.com is not trusted \([A-Z_]+\).*--upstream-ca.* 502$/);
  assert.equal(fx.peer.requests.filter((q) => q.path === "/v1/unverified").length, 0, "nothing reached the service");
  // a trusted CA, but a certificate for another name
  const elsewhere = await startTlsPeer({ hosts: ["elsewhere.test"] });
  try {
    const r = await cliAsync(["run", "--resolve", `api.openai.com:443:127.0.0.1:${elsewhere.port}`, "--upstream-ca", elsewhere.caFile, "--", "sh", "-c", curl], { home: fx.home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /not trusted \(ERR_TLS_CERT_ALTNAME_INVALID\).* 502$/);
    assert.equal(elsewhere.requests.length, 0, "nothing reached the impostor");
  } finally {
    await elsewhere.close();
  }
});

test("no secret in the child's /proc/<pid>/environ; placeholders for the injected providers", async () => {
  const r = await fx.run(["sh", "-c", 'tr "\\0" "\\n" < /proc/$$/environ; echo "CA_DIR=$(dirname "$SSL_CERT_FILE")"; ls -la "$(dirname "$SSL_CERT_FILE")"'], {
    env: { X_CLIENT_SECRET: "client-secret-from-parent", X_API_SECRET: "consumer-secret-from-parent", X_ACCESS_TOKEN_SECRET: "token-secret-from-parent" },
  });
  assert.equal(r.code, 0, r.stderr);
  assertNoSecret(r.stdout, "the child's environment");
  assert.doesNotMatch(r.stdout, /from-parent/, "the variables injected providers read secrets from are removed");
  for (const name of ["OPENAI_API_KEY", "X_ACCESS_TOKEN", "X_REFRESH_TOKEN", "GITHUB_ACCESS_TOKEN", "GITLOCAL_TOKEN"]) {
    assert.match(r.stdout, new RegExp(`^${name}=authsome-proxy-managed$`, "m"));
  }
  for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]) assert.match(r.stdout, new RegExp(`^${name}=http://authsome:[0-9a-f]{48}@127\\.0\\.0\\.1:\\d+$`, "m"));
  assert.match(r.stdout, /^NO_PROXY=.*localhost,127\.0\.0\.1,::1$/m);
  assert.match(r.stdout, /^NODE_USE_ENV_PROXY=1$/m);
  assert.match(r.stdout, /^NODE_OPTIONS=--require ".*fetch-preload\.cjs"$/m);
  for (const name of ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "AWS_CA_BUNDLE", "DENO_CERT", "CARGO_HTTP_CAINFO"]) {
    assert.match(r.stdout, new RegExp(`^${name}=/.*/ca-bundle\\.pem$`, "m"));
  }
  // private files in a private directory, gone after the run
  const dir = /^CA_DIR=(.*)$/m.exec(r.stdout)![1]!;
  assert.match(r.stdout, /^drwx------ .* \.$/m);
  assert.match(r.stdout, /^-rw------- .* ca-bundle\.pem$/m);
  assert.match(r.stdout, /^-rw------- .* run-ca\.pem$/m);
  assert.equal(existsSync(dir), false);
  assertNoSecret(r.stderr, "authsome's own output");
});

/** A plain-http server on loopback that answers "plain" and notes each request's Authorization. */
async function plainServer(): Promise<{ port: number; seen: Array<string | undefined>; close: () => void }> {
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.end("plain");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { port: (server.address() as AddressInfo).port, seen, close: () => server.close() };
}

test("plain http is forwarded but never injected", async () => {
  const { port, seen: seenHere, close } = await plainServer();
  try {
    const r = await fx.run(["sh", "-c", 'curl -sS --fail -H "Authorization: Bearer $OPENAI_API_KEY" http://api.openai.com/v1/plain'], {
      options: ["--resolve", `api.openai.com:80:127.0.0.1:${port}`],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "plain");
    assert.deepEqual(seenHere, ["Bearer authsome-proxy-managed"]);
  } finally {
    close();
  }
});

test("--inject-loopback-http: plain http to a loopback destination gets the credential, and loopback goes through the proxy", async () => {
  const { port, seen: seenHere, close } = await plainServer();
  try {
    const r = await fx.run(["sh", "-c", 'curl -sS --fail -H "Authorization: Bearer $OPENAI_API_KEY" http://api.openai.com/v1/plain && echo " $NO_PROXY"'], {
      options: ["--inject-loopback-http", "--resolve", `api.openai.com:80:127.0.0.1:${port}`],
    });
    assert.equal(r.code, 0, r.stderr);
    const [body, noProxy] = r.stdout.split(" ");
    assert.equal(body, "plain");
    assert.deepEqual(seenHere, [`Bearer ${SECRETS.openai}`]);
    assert.ok(!/127\.0\.0\.1|localhost/.test(noProxy ?? ""), `NO_PROXY still skips loopback: ${noProxy}`);
  } finally {
    close();
  }
});

test("a request whose headers carry a line break inside a value is refused, and nothing reaches the service", async () => {
  // Raw bytes through the tunnel: real clients refuse to send such headers at all.
  const script = `
import base64, os, socket, ssl, urllib.parse
proxy = urllib.parse.urlsplit(os.environ["HTTPS_PROXY"])
auth = base64.b64encode(f"{proxy.username}:{proxy.password}".encode()).decode()
raw = socket.create_connection((proxy.hostname, proxy.port))
raw.sendall(f"CONNECT api.openai.com:443 HTTP/1.1\\r\\nHost: api.openai.com:443\\r\\nProxy-Authorization: Basic {auth}\\r\\n\\r\\n".encode())
assert raw.recv(4096).startswith(b"HTTP/1.1 200")
tls = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]).wrap_socket(raw, server_hostname="api.openai.com")
for i, header in enumerate([b"X-Folded: a\\r\\n continued", b"X-Bare-Cr: a\\rb", b"X-Bare-Lf: a\\nInjected: yes"]):
    tls.sendall(b"GET /v1/crlf-" + str(i).encode() + b" HTTP/1.1\\r\\nHost: api.openai.com\\r\\n" + header + b"\\r\\n\\r\\n")
    print(tls.recv(4096).split(b"\\r\\n")[0].decode())
    tls.close()
    raw = socket.create_connection((proxy.hostname, proxy.port))
    raw.sendall(f"CONNECT api.openai.com:443 HTTP/1.1\\r\\nHost: api.openai.com:443\\r\\nProxy-Authorization: Basic {auth}\\r\\n\\r\\n".encode())
    raw.recv(4096)
    tls = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]).wrap_socket(raw, server_hostname="api.openai.com")
`;
  const r = await fx.run(["/usr/bin/python3", "-c", script]);
  assert.equal(r.code, 0, r.stderr);
  for (const line of r.stdout.trim().split("\n")) assert.match(line, /^HTTP\/1\.1 400 /);
  assert.equal(fx.peer.requests.filter((q) => q.path.startsWith("/v1/crlf")).length, 0, "nothing was forwarded");
});
