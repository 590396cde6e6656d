// Which browser opens a URL: $BROWSER as Python's webbrowser reads it (a ":" list of commands,
// "%s" for the URL), else the desktop's opener; never through a shell.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { browserCommands, openBrowser } from "../../src/input/browser.js";
import { LAUNCH_TARGET_JS, tempDir } from "../helpers.js";

test("$BROWSER is a list of commands with arguments; else open on macOS, xdg-open with a display, nothing headless", () => {
  assert.deepEqual(browserCommands({ BROWSER: "firefox --new-window %s:w3m" }), [["firefox", "--new-window", "%s"], ["w3m"]]);
  assert.deepEqual(browserCommands({ BROWSER: " " }, "linux"), []);
  assert.deepEqual(browserCommands({}, "darwin"), [["open"]]);
  assert.deepEqual(browserCommands({ DISPLAY: ":0" }, "linux"), [["xdg-open"]]);
  assert.deepEqual(browserCommands({}, "linux"), []);
});

test("the first command that starts gets, in place of %s, a private page that forwards to the URL: the URL is in no process's arguments", async () => {
  const dir = tempDir();
  const script = join(dir, "browser.sh");
  const out = join(dir, "args");
  writeFileSync(script, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > ${out}\n`);
  chmodSync(script, 0o755);
  const url = 'http://127.0.0.1:1/authorize?state=s3cr3t-state&code_challenge=ch4ll&b=$(touch /tmp/never) x"<y>';
  assert.equal(await openBrowser({ BROWSER: `${join(dir, "missing")}:${script} --new-window %s --flag` }, url), true);
  for (let i = 0; i < 50 && !existsSync(out); i++) await sleep(20);
  await sleep(50);
  const [flag, page, last] = readFileSync(out, "utf8").split("\n").slice(0, -1);
  assert.deepEqual([flag, last], ["--new-window", "--flag"]);
  // what every user of the machine can read in /proc/PID/cmdline: no state, no challenge
  assert.match(page!, /^file:\/\/\/.*\/authsome-open-[^/]+\/open\.html$/);
  assert.doesNotMatch(page!, /s3cr3t|ch4ll|authorize/);
  const file = fileURLToPath(page!);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(dirname(file)).mode & 0o777, 0o700);
  // the page forwards to the URL exactly (a browser follows it: test/e2e)
  const launch = new Function("require", `${LAUNCH_TARGET_JS}; return launchTarget;`)(createRequire(import.meta.url)) as (arg: string) => string;
  assert.equal(launch(page!), url);
  assert.match(readFileSync(file, "utf8"), /<meta http-equiv="refresh" content="0;url=http:\/\/127\.0\.0\.1:1\/authorize\?state=s3cr3t-state&amp;code_challenge=ch4ll&amp;b=\$\(touch \/tmp\/never\) x&quot;&lt;y&gt;">/);
  // no command could start: no page left behind
  const before = readdirSync(tmpdir()).filter((n) => n.startsWith("authsome-open-")).length;
  assert.equal(await openBrowser({ BROWSER: join(dir, "missing") }, url), false);
  assert.equal(readdirSync(tmpdir()).filter((n) => n.startsWith("authsome-open-")).length, before);
});
