// Node's ESM loader costs about a millisecond per module, and agents start authsome over and
// over: the command-line program is bundled into one file per entry (packages stay outside).
// A plain `get` (bin/authsome.js -> dist/cli/fast-get.js) has its own, smaller bundle that
// leaves out commander and every other command. Each bundled module keeps its own
// import.meta.url, so paths relative to it (the catalogue, the schema, the fetch preload,
// createRequire) point where they did.
import { readFile } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { build } from "esbuild";

for (const entry of ["dist/cli/fast-get.js", "dist/cli/main.js"]) {
  const outfile = entry.replace(/\.js$/, ".bundle.js");
  /** Rewrites `import.meta.url` in a bundled module to that module's own URL, reckoned from the bundle. */
  const ownUrl = {
    name: "own-import-meta-url",
    setup(b) {
      b.onLoad({ filter: /\.js$/ }, async ({ path }) => {
        const text = await readFile(path, "utf8");
        if (!text.includes("import.meta.url")) return undefined;
        const fromBundle = relative(dirname(outfile), path).split(sep).join("/");
        return { contents: text.replaceAll("import.meta.url", `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`), loader: "js" };
      });
    },
  };
  await build({ entryPoints: [entry], outfile, bundle: true, platform: "node", format: "esm", packages: "external", logLevel: "warning", plugins: [ownUrl] });
}
