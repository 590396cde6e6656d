import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { basename, join } from "node:path";
import { ProviderDefinitionError, ProviderNotFoundError, UsageError } from "../errors.js";
import { audit } from "../home/audit.js";
import type { Home } from "../home/home.js";
import { ensurePrivateDir, writeJsonAtomic } from "../home/files.js";
import { assertName } from "../home/names.js";
import type { LoadedProvider, ProviderDefinition, ProviderSource } from "./schema.js";
import { validateDefinition, validateDefinitionText } from "./validate.js";

/** The bundled catalogue ships beside this module (copied to dist/ by the build). */
export const CATALOG_DIR = fileURLToPath(new URL("./catalog/", import.meta.url));

export interface ProviderLoadError {
  name: string;
  source: ProviderSource;
  path: string;
  message: string;
}

function jsonNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => f.slice(0, -".json".length))
    .sort();
}

/** Provider definitions: the user's files in <home>/providers override the bundled catalogue. */
export class ProviderRegistry {
  constructor(readonly home: Home) {}

  private load(path: string, source: ProviderSource): LoadedProvider {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new ProviderDefinitionError(`${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
        hint: "make it a readable file, or remove it",
      });
    }
    const definition = validateDefinitionText(text, path);
    // a definition answers to one name: under another file name it would take that provider's credentials
    const fileName = basename(path, ".json");
    if (definition.name !== fileName) {
      throw new ProviderDefinitionError(`${path}: $.name is ${JSON.stringify(definition.name)}, but the file is named for "${fileName}"`, {
        hint: `rename the file to ${definition.name}.json, or set "name" to "${fileName}"`,
      });
    }
    return { definition, source, path };
  }

  /** The definition in effect for name; a broken user file is an error, not a silent fallback. */
  get(name: string): LoadedProvider {
    assertName("provider", name);
    const userPath = this.home.paths.userProvider(name);
    if (existsSync(userPath)) return this.load(userPath, "user");
    const bundledPath = join(CATALOG_DIR, `${name}.json`);
    if (existsSync(bundledPath)) return this.load(bundledPath, "bundled");
    throw new ProviderNotFoundError(`unknown provider "${name}"`, {
      hint: "run `authsome list` to see the providers, or add one with `authsome register FILE`",
    });
  }

  bundled(name: string): LoadedProvider | undefined {
    const path = join(CATALOG_DIR, `${name}.json`);
    return existsSync(path) ? this.load(path, "bundled") : undefined;
  }

  /** Every provider in effect, by name; files that fail to load are reported, not fatal. */
  list(): { providers: LoadedProvider[]; errors: ProviderLoadError[] } {
    const providers = new Map<string, LoadedProvider>();
    const errors: ProviderLoadError[] = [];
    const sources: Array<[ProviderSource, string]> = [
      ["bundled", CATALOG_DIR],
      ["user", this.home.paths.providers],
    ];
    for (const [source, dir] of sources) {
      for (const name of jsonNames(dir)) {
        const path = join(dir, `${name}.json`);
        try {
          providers.set(name, this.load(path, source));
        } catch (err) {
          errors.push({ name, source, path, message: (err as Error).message });
          // a broken override is what `get` and `login` meet: the bundled one is not in effect
          providers.delete(name);
        }
      }
    }
    return { providers: [...providers.values()].sort((a, b) => a.definition.name.localeCompare(b.definition.name)), errors };
  }

  /** Validates and writes <home>/providers/<name>.json (audited). Replacing anything needs force (`forceOption`: how the caller spells it). */
  register(value: unknown, origin: string, opts: { force?: boolean; forceOption?: string } = {}): LoadedProvider {
    const force = opts.forceOption ?? "--force";
    const definition: ProviderDefinition = validateDefinition(value, origin);
    const path = this.home.paths.userProvider(definition.name);
    if (!opts.force) {
      if (existsSync(path)) {
        throw new UsageError(`provider "${definition.name}" is already registered (${path})`, { hint: `pass ${force} to replace it` });
      }
      if (this.bundled(definition.name)) {
        throw new UsageError(`provider "${definition.name}" is bundled with authsome`, {
          hint: `pass ${force} to override the bundled definition with yours`,
        });
      }
    }
    this.home.ensure();
    ensurePrivateDir(this.home.paths.providers);
    writeJsonAtomic(path, definition);
    audit(this.home, "register", { provider: definition.name, routes: (definition.routes ?? []).map((r) => r.host), host_url: definition.host_url ?? null });
    return { definition, source: "user", path };
  }

  /** Deletes the user's definition file; true when there was one. */
  unregister(name: string): boolean {
    const path = this.home.paths.userProvider(assertName("provider", name));
    if (!existsSync(path)) return false;
    rmSync(path);
    return true;
  }
}
