// Cold start of the command agents run over and over, against `node -e 0`, in one run.
// Usage: node bench/cold-start.mjs [runs]   (after `npm run build`)
import { spawnSync } from "node:child_process";
import { cpSync, chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.argv[2] ?? 30);
const home = join(mkdtempSync(join(tmpdir(), "authsome-bench-")), "home");
cpSync(join(root, "../shared/fixtures/python-authsome-0.2.3/home"), home, { recursive: true });
const fix = (p) => {
  const st = statSync(p);
  chmodSync(p, st.isDirectory() ? 0o700 : 0o600);
  if (st.isDirectory()) for (const n of readdirSync(p)) fix(join(p, n));
};
fix(home);

const env = { ...process.env, AUTHSOME_HOME: home };
const cases = {
  "node -e 0": [process.execPath, ["-e", "0"]],
  "authsome get x --field access_token --show-secret": [process.execPath, [join(root, "bin/authsome.js"), "get", "x", "--connection", "work", "--field", "access_token", "--show-secret"]],
};

function time([cmd, args]) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const results = {};
for (const name of Object.keys(cases)) time(cases[name]); // warm the page cache
for (let i = 0; i < runs; i++) {
  for (const [name, c] of Object.entries(cases)) (results[name] ??= []).push(time(c));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results["node -e 0"]);
console.log(`cold start, ${runs} runs each, interleaved (median ms)`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`  ${name.padEnd(52)} ${median(xs).toFixed(1).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}x`);
}
const ratio = median(results["authsome get x --field access_token --show-secret"]) / base;
console.log(`ratio get / node -e 0: ${ratio.toFixed(2)}x (target <= 1.60x)`);
rmSync(join(home, ".."), { recursive: true, force: true });
