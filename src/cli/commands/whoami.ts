import { encryptionMode } from "../../home/config.js";
import type { CommandContext } from "../context.js";
import { accountLabel } from "../output.js";

export default async function whoami(ctx: CommandContext): Promise<void> {
  const entries = ctx.home.exists ? await ctx.connections.list() : [];
  const connections = entries.map((e) => ({
    provider: e.provider,
    connection: e.connection,
    status: e.record?.status ?? "unreadable",
    account: e.record?.account ?? { id: null, label: null },
  }));
  const prefixes = new Map(ctx.providers.list().providers.map(({ definition }) => [definition.name, definition.identity?.label_prefix ?? ""]));
  const data = {
    home: ctx.home.root,
    profile: ctx.profile,
    encryption_mode: encryptionMode(ctx.home.config()),
    connections,
  };
  ctx.out.result(data, () => [
    `Home:        ${data.home}`,
    `Profile:     ${data.profile}`,
    `Encryption:  ${data.encryption_mode}`,
    ...(connections.length ? ["Connections:"] : ["Connections: none (run `authsome login PROVIDER`)"]),
    ...connections.map((c) => {
      const account = accountLabel(c.account, prefixes.get(c.provider));
      return `  ${c.provider}/${c.connection}  ${c.status}${account ? `  ${account}` : ""}`;
    }),
  ]);
}
