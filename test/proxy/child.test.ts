// The child process of `authsome run`: argument passing, exit codes, signals, and the temp
// files and proxy going away however the child ends.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, SYSTEM_PYTHON, cliAsync, cliOnTerminal, emptyHome, tempDir, writeProvider } from "../helpers.js";
import { parseResolve } from "../../src/cli/commands/run.js";
import { proxyHome } from "./fixtures.js";

let home: string;
before(async () => {
  home = await proxyHome();
});

test("everything after -- (and, without --, from the first foreign word) belongs to the child", async () => {
  const a = await cliAsync(["run", "--", "printf", "%s|", "--provider", "x", "--json", "-c"], { home });
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, "--provider|x|--json|-c|");
  const b = await cliAsync(["--quiet", "run", "--provider", "openai", "printf", "%s|", "--use", "a=b"], { home });
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, "--use|a=b|");
  assert.equal(b.stderr, "", "--quiet before run still applies");
});

test("the exit code is the child's; 128+N when a signal killed it", async () => {
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "exit 7"], { home })).code, 7);
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "kill -TERM $$"], { home })).code, 143);
  assert.equal((await cliAsync(["run", "--", "sh", "-c", "kill -KILL $$"], { home })).code, 137);
});

test("a command that cannot start gets a shell's message and exit code: 127 not found (its interpreter included), 126 not executable", async () => {
  const dir = tempDir();
  const script = join(dir, "script");
  writeFileSync(script, "#!/no/such/interpreter\necho hi\n", { mode: 0o755 });
  const crlf = join(dir, "crlf");
  writeFileSync(crlf, "#!/bin/sh\r\necho hi\r\n", { mode: 0o755 });
  const cases: Array<[string, number, RegExp]> = [
    ["no-such-command-authsome", 127, /"no-such-command-authsome": command not found/],
    [join(dir, "absent"), 127, /command not found/],
    ["/etc/passwd", 126, /"\/etc\/passwd": permission denied/],
    [dir, 126, /is a directory/],
    [script, 127, /bad interpreter "\/no\/such\/interpreter": no such file/],
    [crlf, 127, /bad interpreter "\/bin\/sh\\r": no such file\n.*Windows \(CRLF\) line endings/],
  ];
  for (const [command, code, message] of cases) {
    const r = await cliAsync(["run", "--", command], { home });
    assert.equal(r.code, code, `${command}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const json = await cliAsync(["run", "--json", "--", "no-such-command-authsome"], { home });
  assert.equal(json.code, 127);
  assert.equal((JSON.parse(json.stdout) as { error: { exit_code: number } }).error.exit_code, 127, "--json reports the code the run exits with");
});

test("bad options are usage errors (exit 2) before anything starts; --use of a provider with no connection is exit 5", async () => {
  const marker = join(tempDir(), "started");
  const pem = join(tempDir(), "bad.pem");
  writeFileSync(pem, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  const cases: Array<[string[], number, RegExp]> = [
    [["--bogus"], 2, /unknown option '--bogus'/],
    [["--provder", "openai"], 2, /Did you mean --provider\?/],
    [["--provider"], 2, /--provider needs a value, got "--"/],
    [["--resolve", "api.openai.com:99999:127.0.0.1"], 2, /a port must be 1 to 65535/],
    [["--resolve", "api.openai.com:443:127.0.0.1,127.0.0.2"], 2, /one ADDRESS/],
    [["--upstream-ca", tempDir()], 2, /cannot read the --upstream-ca file .*: it is a directory/],
    [["--upstream-ca", pem], 2, /certificate 1 of 1 is not a valid certificate/],
    [["--upstream-ca", ""], 2, /--upstream-ca needs a value, got an empty one/],
    [["--use", "notion=default"], 5, /authsome login notion/],
    [["--use", "no-such-provider=default"], 3, /unknown provider "no-such-provider"/],
  ];
  for (const [options, code, message] of cases) {
    const r = await cliAsync(["run", ...options, "--", "touch", marker], { home });
    assert.equal(r.code, code, `${options.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  assert.equal((await cliAsync(["run", "--", ""], { home })).code, 2, "an empty command");
  assert.equal(existsSync(marker), false, "no child started");
});

test("a NO_PROXY that covers a routed host is reported: the child's requests to it would skip the proxy", async () => {
  const env = (noProxy: string) => ({ env: { NO_PROXY: noProxy, no_proxy: undefined } });
  const some = await cliAsync(["run", "--", "true"], { home, ...env("*.openai.com,example.org:443") });
  assert.equal(some.code, 0, some.stderr);
  assert.match(some.stderr, /warning: NO_PROXY covers api\.openai\.com: .*take it out of NO_PROXY/);
  assert.equal(some.stderr.match(/NO_PROXY covers/g)?.length, 1, "only the covered host");
  const all = await cliAsync(["run", "--provider", "github", "--", "true"], { home, ...env("*") });
  assert.match(all.stderr, /NO_PROXY covers api\.github\.com/);
  const none = await cliAsync(["run", "--", "true"], { home, ...env("localhost,.internal.test,openai.com.evil.test") });
  assert.doesNotMatch(none.stderr, /NO_PROXY covers/);
});

test("a routed loopback host is reported: the child reaches loopback without the proxy unless --inject-loopback-http", async () => {
  const local = await proxyHome();
  writeFileSync(join(local, "providers", "localsvc.json"), JSON.stringify({ schema_version: 1, name: "localsvc", display_name: "Local", auth_type: "api_key", flow: "api_key", routes: [{ host: "localhost:8443" }], api_key: {}, export: { env: { api_key: "LOCALSVC_KEY" } } }));
  const login = await cliAsync(["login", "localsvc"], { home: local, env: { LOCALSVC_KEY: "local-key" } });
  assert.equal(login.code, 0, login.stderr);
  const r = await cliAsync(["run", "--provider", "localsvc", "--", "true"], { home: local });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: localhost is a loopback address, which the child reaches without the proxy: .*--inject-loopback-http/);
  const through = await cliAsync(["run", "--provider", "localsvc", "--inject-loopback-http", "--", "true"], { home: local });
  assert.doesNotMatch(through.stderr, /loopback address/);
});

test("the user's own proxy is named (without its password) as the way to services; one authsome cannot use is warned about", async () => {
  const r = await cliAsync(["run", "--", "sh", "-c", 'echo "$HTTPS_PROXY"'], { home, env: { HTTPS_PROXY: "http://corp:hunter2@proxy.corp.test:3128" } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /authsome run: .*reaching services through http:\/\/\*\*\*:\*\*\*@proxy\.corp\.test:3128\)/);
  assert.ok(!r.stderr.includes("hunter2") && !r.stderr.includes("//corp"), "neither the proxy's password nor its user name is printed");
  assert.match(r.stdout, /^http:\/\/authsome:[0-9a-f]+@127\.0\.0\.1:\d+$/m, "the child gets authsome's proxy");
  const socks = await cliAsync(["run", "--", "true"], { home, env: { HTTPS_PROXY: undefined, https_proxy: undefined, ALL_PROXY: "socks5://u:pw-SECRET@127.0.0.1:1080" } });
  assert.equal(socks.code, 0, socks.stderr);
  assert.match(socks.stderr, /warning: the proxy in your environment \(socks5:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1080: only http:\/\/ and https:\/\/ proxies are supported\) is not used: authsome connects to https and plain http services directly/);
  assert.ok(!socks.stderr.includes("pw-SECRET"));
  const none = await cliAsync(["run", "--", "true"], { home, env: { HTTPS_PROXY: undefined, https_proxy: undefined, ALL_PROXY: undefined, all_proxy: undefined } });
  assert.doesNotMatch(none.stderr, /proxy in your environment|reaching services through/);
});

test("a TMPDIR that cannot hold the run's files is an error that names it, and the run ends", async () => {
  const marker = join(tempDir(), "started");
  const r = await cliAsync(["run", "--", "touch", marker], { home, env: { TMPDIR: "/nonexistent/authsome-tmp" } });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot make the run's private directory in \/nonexistent\/authsome-tmp: no such file/);
  assert.match(r.stderr, /set TMPDIR to a directory you can write to/);
  assert.equal(existsSync(marker), false);
});

test("--resolve takes curl's forms: an address with its own port, and IPv6 in brackets", () => {
  assert.deepEqual(
    parseResolve(["API.openai.com:443:127.0.0.1:8443", "[::1]:443:[::1]", "git.test:443:localhost"]),
    new Map([
      ["api.openai.com:443", { host: "127.0.0.1", port: 8443 }],
      ["::1:443", { host: "::1", port: 443 }],
      ["git.test:443", { host: "localhost", port: 443 }],
    ]),
  );
});

test("--provider with no connection is an error before the child starts", async () => {
  const marker = join(tempDir(), "started");
  const r = await cliAsync(["run", "--provider", "github", "--provider", "notion", "--", "touch", marker], { home });
  assert.equal(r.code, 5, r.stderr);
  assert.match(r.stderr, /authsome login notion/);
  assert.equal(existsSync(marker), false);
  const none = await cliAsync(["run", "--", "true"], { home: emptyHome() });
  assert.equal(none.code, 0, "without --provider, nothing connected is fine");
  assert.equal((await cliAsync(["run"], { home })).code, 2);
});

for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"] as const) {
  test(`${signal} is forwarded; the proxy and the temp files go away`, async () => {
    const out = join(tempDir(), "out");
    // the child sets its trap, reports its trust dir and proxy, then waits to be signalled
    // (trap first: a signal sent as soon as the report appears must find it set)
    const script = `trap 'echo got-${signal} >> ${out}; exit 42' ${signal.slice(3)}; echo "$(dirname "$SSL_CERT_FILE") \${HTTPS_PROXY##*@}" > ${out}; while :; do sleep 0.05; done`;
    // a session of its own, without a terminal: the signal comes from another process, not from a terminal
    const child = spawn(process.execPath, [CLI, "run", "--", "sh", "-c", script], { env: { ...process.env, AUTHSOME_HOME: home }, stdio: "ignore", detached: true });
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    while (!existsSync(out) || !readFileSync(out, "utf8").includes("\n")) await new Promise((r) => setTimeout(r, 50));
    const [dir, proxy] = readFileSync(out, "utf8").trim().split(" ");
    assert.ok(existsSync(dir!));
    child.kill(signal);
    assert.equal(await closed, 42, "the child's own exit code");
    assert.match(readFileSync(out, "utf8"), new RegExp(`got-${signal}`));
    assert.equal(existsSync(dir!), false, "temp dir removed");
    const port = Number(proxy!.split(":")[1]);
    const probe = await cliAsync(["run", "--", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}/`], { home });
    assert.equal(probe.stdout, "000", "nothing listens on the proxy port any more");
  });
}

test("Ctrl-C on a terminal reaches the child once: the terminal signals the whole job, so authsome does not forward it again", () => {
  // the child counts the SIGINTs it gets for a while, then reports
  const counter = "import signal, time\nn = 0\ndef got(*_):\n    global n\n    n += 1\nsignal.signal(signal.SIGINT, got)\nprint('ready', flush=True)\nend = time.time() + 1.5\nwhile time.time() < end:\n    time.sleep(0.02)\nprint('got', n, 'SIGINT', flush=True)\n";
  const { output, code } = cliOnTerminal(["--quiet", "run", "--", SYSTEM_PYTHON, "-c", counter], [{ after: "ready", type: "\x03" }], { home });
  assert.equal(code, 0, output);
  assert.match(output, /got 1 SIGINT/);
  // a child that moves to a process group of its own (as timeout does) is out of the terminal's reach: authsome forwards
  // (the child moves itself: GNU timeout would pass a forwarded SIGINT on twice, to its child and to its group)
  const own = cliOnTerminal(["--quiet", "run", "--", SYSTEM_PYTHON, "-c", `import os\nos.setpgid(0, 0)\n${counter}`], [{ after: "ready", type: "\x03" }], { home });
  assert.match(own.output, /got 1 SIGINT/);
});

test("closing the terminal ends the run as a hang-up: the child gets SIGHUP, authsome exits 129 and leaves nothing behind", () => {
  // authsome runs on a pseudo-terminal as the session leader; the terminal is then closed
  const driver = String.raw`
import json, os, pty, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
while b"ready" not in out:
    out += os.read(fd, 1024)
dir = out.decode().split("ready ")[1].split()[0]
os.close(fd)
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    raise SystemExit("authsome did not end after the hang-up")
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "dir": dir, "left": os.path.exists(dir)}))
`;
  const script = 'echo "ready $(dirname "$SSL_CERT_FILE")"; sleep 30';
  const r = spawnSync(SYSTEM_PYTHON, ["-c", driver, process.execPath, CLI, "--quiet", "run", "--", "sh", "-c", script], { env: { ...process.env, AUTHSOME_HOME: home }, encoding: "utf8", timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { code: number; dir: string; left: boolean };
  // not -6: Node 20 aborts when it restores a terminal that is gone
  assert.equal(out.code, 129, "the child's end by SIGHUP, as 128+1");
  assert.equal(out.left, false, `the temp dir ${out.dir} is removed`);
});

test("a connected provider that routes nothing is said to be not injected: \"routes\": [], no routes or host_url, a Python regex: host_url", async () => {
  const own = emptyHome();
  const base = { schema_version: 1, auth_type: "api_key", flow: "api_key", api_key: {} };
  writeProvider(own, { ...base, name: "quiet", display_name: "Quiet", host_url: "api.quiet.example", routes: [], export: { env: { api_key: "QUIET_KEY" } } });
  writeProvider(own, { ...base, name: "bare", display_name: "Bare", export: { env: { api_key: "BARE_KEY" } } });
  writeProvider(own, { ...base, name: "legacy", display_name: "Legacy", host_url: "regex:.*legacy.*", export: { env: { api_key: "LEGACY_KEY" } } });
  for (const [name, variable] of [["quiet", "QUIET_KEY"], ["bare", "BARE_KEY"], ["legacy", "LEGACY_KEY"]]) {
    const login = await cliAsync(["login", name!], { home: own, env: { [variable!]: "key-of-" + name } });
    assert.equal(login.code, 0, login.stderr);
  }
  const r = await cliAsync(["run", "--", "true"], { home: own });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: "quiet" is not injected: its definition says "routes": \[\]/);
  assert.match(r.stderr, /warning: "bare" is not injected: it has no routes or host_url/);
  assert.match(r.stderr, /warning: "legacy" is not injected: a "regex:" host_url routes nothing \(give the definition routes: authsome inspect legacy\)/);
});
