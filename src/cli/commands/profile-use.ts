import { assertName } from "../../home/names.js";
import type { CommandContext } from "../context.js";

export default async function profileUse(ctx: CommandContext, name: string): Promise<void> {
  assertName("profile", name);
  if (!ctx.home.profileExists(name)) throw ctx.home.missingProfile(name);
  const config = ctx.home.config();
  ctx.home.saveConfig({ ...config, default_profile: name });
  ctx.out.result({ status: "default_profile_set", profile: name }, () => []);
  ctx.out.success(`Default profile is now ${name}.`);
  if (ctx.io.env.AUTHSOME_PROFILE && ctx.io.env.AUTHSOME_PROFILE !== name) {
    ctx.out.warn(`AUTHSOME_PROFILE=${ctx.io.env.AUTHSOME_PROFILE} still overrides it in this shell`);
  }
}
