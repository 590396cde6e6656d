// Which browser opens a URL: $BROWSER as Python's webbrowser reads it (a ":" list of commands,
// "%s" for the URL), else the desktop's opener; never through a shell.
import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { browserCommands, openBrowser } from "../../src/input/browser.js";
import { tempDir } from "../helpers.js";

test("$BROWSER is a list of commands with arguments; else open on macOS, xdg-open with a display, nothing headless", () => {
  assert.deepEqual(browserCommands({ BROWSER: "firefox --new-window %s:w3m" }), [["firefox", "--new-window", "%s"], ["w3m"]]);
  assert.deepEqual(browserCommands({ BROWSER: " " }, "linux"), []);
  assert.deepEqual(browserCommands({}, "darwin"), [["open"]]);
  assert.deepEqual(browserCommands({ DISPLAY: ":0" }, "linux"), [["xdg-open"]]);
  assert.deepEqual(browserCommands({}, "linux"), []);
});

test("the first command that starts gets the URL, in place of %s, as one argument", async () => {
  const dir = tempDir();
  const script = join(dir, "browser.sh");
  const out = join(dir, "args");
  writeFileSync(script, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > ${out}\n`);
  chmodSync(script, 0o755);
  const url = "http://127.0.0.1:1/authorize?a=1&b=$(touch /tmp/never) x";
  assert.equal(await openBrowser({ BROWSER: `${join(dir, "missing")}:${script} --new-window %s --flag` }, url), true);
  for (let i = 0; i < 50 && !existsSync(out); i++) await sleep(20);
  await sleep(50);
  assert.deepEqual(readFileSync(out, "utf8").split("\n").slice(0, -1), ["--new-window", url, "--flag"]);
  assert.equal(await openBrowser({ BROWSER: join(dir, "missing") }, url), false);
});
