// `authsome get` is what agents run over and over, and Node's ESM loader costs about a
// millisecond per module on it: its path (bin/authsome.js -> dist/cli/fast-get.js) is bundled
// into one file. Packages stay outside. Each bundled module keeps its own import.meta.url, so
// paths relative to it (the catalogue, the schema, createRequire) point where they did.
import { readFile } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";
import { build } from "esbuild";

const outfile = "dist/cli/fast-get.bundle.js";

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

await build({
  entryPoints: ["dist/cli/fast-get.js"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  packages: "external",
  logLevel: "warning",
  plugins: [ownUrl],
});
