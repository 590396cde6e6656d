#!/usr/bin/env node
// The everyday `get` takes a fast path that does not load the full command-line program.
const argv = process.argv.slice(2);
const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env };
const { fastGet } = await import("../dist/cli/fast-get.js");
const code = await fastGet(argv, io);
process.exitCode = code ?? (await (await import("../dist/cli/main.js")).run(argv, io));
