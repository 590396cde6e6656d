import type { CommandContext } from "../context.js";

/** Prints the definition in effect, exactly as a file `register` accepts. */
export default async function inspect(ctx: CommandContext, provider: string): Promise<void> {
  const { definition, source, path } = ctx.providers.get(provider);
  ctx.out.raw(JSON.stringify(definition, null, 2));
  ctx.out.info(ctx.out.paint(`# ${source} definition from ${path}`, "dim"));
}
