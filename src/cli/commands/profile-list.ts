import type { CommandContext } from "../context.js";

export default async function profileList(ctx: CommandContext): Promise<void> {
  // the profile in effect, even one that does not exist: this is the command that shows which do
  const current = ctx.profileName;
  const fallback = ctx.home.config().default_profile;
  const names = ctx.home.listProfiles();
  const profiles = names.map((name) => ({ name, default: name === fallback, current: name === current }));
  ctx.out.result({ profiles, current }, () =>
    profiles.length ? profiles.map((p) => `${p.current ? "* " : "  "}${p.name}${p.default ? ctx.out.paint(" (default)", "dim") : ""}`) : ["no profiles yet (one is made at the first login)"],
  );
}
