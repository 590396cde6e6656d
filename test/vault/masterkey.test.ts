// The master key is made once, whoever asks for it first: threads of one process included.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

// a worker thread does not inherit the test's TypeScript loader: it registers tsx itself
const IN_TYPESCRIPT = `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL("./masterkey-worker.ts", import.meta.url).href)}); });`;

test("threads of one process creating the master key at once all get the key that is stored", async () => {
  for (let round = 0; round < 8; round++) {
    const dir = mkdtempSync(join(tmpdir(), "authsome-key-"));
    const keyFile = join(dir, "master.key");
    const gate = new SharedArrayBuffer(4);
    const workers = Array.from({ length: 4 }, () => new Worker(IN_TYPESCRIPT, { eval: true, workerData: { keyFile, gate } }));
    const answers = workers.map((w) => new Promise<{ key?: string; error?: string }>((resolve, reject) => w.once("message", resolve).once("error", reject)));
    await new Promise((resolve) => setTimeout(resolve, 300)); // every thread waits at the gate
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    const got = await Promise.all(answers);
    await Promise.all(workers.map((w) => w.terminate()));
    const stored = (JSON.parse(readFileSync(keyFile, "utf8")) as { key: string }).key;
    for (const answer of got) assert.deepEqual(answer, { key: stored }, `round ${round}`);
    assert.deepEqual(readdirSync(dir), ["master.key"], "no temporary file left");
    rmSync(dir, { recursive: true });
  }
});
