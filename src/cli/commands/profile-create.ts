import { UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import type { CommandContext } from "../context.js";

export default async function profileCreate(ctx: CommandContext, name: string, opts: { description?: string }): Promise<void> {
  assertName("profile", name);
  ctx.home.ensure();
  if (ctx.home.profileExists(name)) throw new UsageError(`profile "${name}" already exists`);
  ctx.home.ensureProfile(name, opts.description ?? "");
  audit(ctx.home, "profile_create", { profile: name });
  ctx.out.result({ status: "created", profile: name }, () => []);
  ctx.out.success(`Created profile ${name}. Use it with --profile ${name}, or make it the default with \`authsome profile use ${name}\`.`);
}
