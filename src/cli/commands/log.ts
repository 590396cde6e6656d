import { UsageError } from "../../errors.js";
import { readAudit } from "../../home/audit.js";
import { assertName } from "../../home/names.js";
import type { CommandContext } from "../context.js";
import { table } from "../output.js";

export default async function log(ctx: CommandContext, opts: { limit: string; provider?: string }): Promise<void> {
  const limit = /^\d+$/.test(opts.limit) ? Number(opts.limit) : 0;
  if (limit < 1) throw new UsageError(`--limit must be a positive whole number, got "${opts.limit}"`, { hint: "for example: authsome log -n 20" });
  // a provider removed since may still have entries: the name is checked, not looked up
  if (opts.provider !== undefined) assertName("provider", opts.provider);
  const entries = readAudit(ctx.home)
    .filter((e) => opts.provider === undefined || e.provider === opts.provider)
    .slice(-limit);
  ctx.out.result(entries, () =>
    table(
      ["TIME", "EVENT", "PROVIDER", "DETAILS"],
      entries.map(({ timestamp, event, provider, ...rest }) => [
        String(timestamp),
        String(event),
        provider === undefined ? "" : String(provider),
        Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" "),
      ]),
    ),
  );
}
