#!/usr/bin/env node
// A reader that stops early (`authsome log | head -1`) closes the pipe. What is left to print has
// nowhere to go: it is dropped, as git and gh do, and the command ends with its own exit code.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code !== "EPIPE") throw err;
  });
}
// The program comes bundled, one file per entry (scripts/bundle-cli.mjs). The everyday `get`
// takes a fast path that does not load the full command-line program.
const argv = process.argv.slice(2);
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
const code = argv[0] === "get" ? await (await import("../dist/cli/fast-get.bundle.js")).fastGet(argv, io) : undefined;
process.exitCode = code ?? (await (await import("../dist/cli/main.bundle.js")).run(argv, io));
