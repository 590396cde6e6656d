// tsc does not copy data files: put the bundled provider catalogue beside the compiled registry.
import { cpSync, rmSync } from "node:fs";

rmSync("dist/providers/catalog", { recursive: true, force: true });
cpSync("src/providers/catalog", "dist/providers/catalog", { recursive: true });
