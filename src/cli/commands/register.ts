import { readFileSync } from "node:fs";
import { UsageError } from "../../errors.js";
import { validateDefinitionText } from "../../providers/validate.js";
import type { CommandContext } from "../context.js";
import { fileProblem } from "../../home/files.js";

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks).toString("utf8");
}

export default async function register(ctx: CommandContext, path: string, opts: { force?: boolean }): Promise<void> {
  let text: string;
  const origin = path === "-" ? "<stdin>" : path;
  if (path === "-") {
    text = await readAll(ctx.io.stdin);
  } else {
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read ${path}: ${fileProblem(err, "read", path).reason}`, { hint: "register takes a provider definition file (JSON), or - for standard input" });
    }
  }
  const definition = validateDefinitionText(text, origin);
  const loaded = ctx.providers.register(definition, origin, { force: opts.force });
  ctx.out.result({ status: "registered", provider: definition.name, path: loaded.path }, () => []);
  ctx.out.success(`Registered provider ${definition.name} (${loaded.path}).`);
}
