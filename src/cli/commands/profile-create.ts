import { UsageError } from "../../errors.js";
import { audit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import type { CommandContext } from "../context.js";

export default async function profileCreate(ctx: CommandContext, name: string, opts: { description?: string }): Promise<void> {
  assertName("profile", name);
  // names that differ only in case would be one directory on a case-insensitive file system
  const existing = ctx.home.exists ? ctx.home.listProfiles().find((p) => p.toLowerCase() === name.toLowerCase()) : undefined;
  if (existing) throw new UsageError(`profile "${existing}" already exists`, { hint: `use it with --profile ${existing}, or pick another name` });
  ctx.home.ensure();
  ctx.home.ensureProfile(name, opts.description ?? "");
  audit(ctx.home, "profile_create", { profile: name });
  ctx.out.result({ status: "created", profile: name }, () => []);
  ctx.out.success(`Created profile ${name}. Use it with --profile ${name}, or make it the default with \`authsome profile use ${name}\`.`);
}
