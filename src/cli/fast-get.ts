import { CommandContext, type GlobalOptions, type Io } from "./context.js";
import { GET_OPTIONS, GLOBAL_OPTIONS, parseSimple } from "./spec.js";

// `authsome get P --field access_token --show-secret` is what agents run over and over.
// Loading commander costs more than the whole command, so a plain `get` is parsed here with
// a small parser over the same option specs; anything else (help, an unknown flag, a typo) goes to the full program.

export async function fastGet(argv: string[], io: Io): Promise<number | undefined> {
  if (argv[0] !== "get") return undefined;
  const parsed = parseSimple(argv.slice(1), [...GLOBAL_OPTIONS, ...GET_OPTIONS]);
  if (!parsed || parsed.positionals.length !== 1) return undefined;
  const opts = parsed.options;
  const ctx = new CommandContext(io, opts as GlobalOptions);
  try {
    const { default: get } = await import("./commands/get.js");
    await get(ctx, parsed.positionals[0]!, opts);
    return 0;
  } catch (err) {
    return ctx.out.error(err);
  } finally {
    ctx.close();
  }
}
