import type { CommandContext } from "../context.js";
import { accountLabel, table } from "../output.js";

export default async function list(ctx: CommandContext, opts: { connected?: boolean }): Promise<void> {
  const { providers, errors: providerErrors } = ctx.providers.list();
  const entries = await ctx.connections.list();
  const byProvider = new Map<string, typeof entries>();
  for (const e of entries) byProvider.set(e.provider, [...(byProvider.get(e.provider) ?? []), e]);
  const meta = new Map<string, string | null>();
  for (const name of byProvider.keys()) meta.set(name, (await ctx.connections.metadata(name).catch(() => undefined))?.default_connection ?? null);

  const rows = providers
    .map(({ definition, source }) => ({
      name: definition.name,
      display_name: definition.display_name,
      auth_type: definition.auth_type,
      source,
      label_prefix: definition.identity?.label_prefix ?? "",
      connections: (byProvider.get(definition.name) ?? []).map((e) =>
        e.record
          ? {
              name: e.connection,
              default: meta.get(e.provider) === e.connection,
              status: e.record.status,
              auth_type: e.record.auth_type,
              account: e.record.account ?? { id: null, label: null },
              scopes: e.record.scopes,
              expires_at: e.record.expires_at,
            }
          : // the same fields, so that a script reading one connection reads them all
            { name: e.connection, default: meta.get(e.provider) === e.connection, status: "unreadable", auth_type: null, account: { id: null, label: null }, scopes: null, expires_at: null, error: e.error },
      ),
    }))
    .filter((p) => !opts.connected || p.connections.length > 0);

  // Connections of providers with no definition are still listed, so nothing stored is hidden.
  const known = new Set(providers.map((p) => p.definition.name));
  const orphans = [...byProvider.keys()].filter((name) => !known.has(name));
  const unreadable = entries.filter((e) => e.error).map((e) => ({ key: e.key, error: e.error }));

  for (const u of unreadable) ctx.out.warn(u.error!);
  for (const e of providerErrors) ctx.out.warn(`provider file ${e.path} is invalid and was skipped:\n${e.message}`);

  ctx.out.result(
    {
      profile: ctx.profile,
      providers: rows.map(({ label_prefix: _, ...p }) => p),
      unknown_providers: orphans.map((name) => ({ name, connections: (byProvider.get(name) ?? []).map((e) => e.connection) })),
      errors: [...unreadable, ...providerErrors.map((e) => ({ path: e.path, error: e.message }))],
    },
    () => {
      const lines: string[][] = [];
      for (const p of rows) {
        if (p.connections.length === 0) {
          lines.push([p.name, p.source, p.auth_type, "-", ctx.out.paint("not connected", "dim"), ""]);
          continue;
        }
        for (const c of p.connections) {
          const status = "error" in c ? ctx.out.paint("unreadable", "red") : ctx.out.paint(c.status, c.status === "connected" ? "green" : "yellow");
          const account = "account" in c ? accountLabel(c.account, p.label_prefix) : "";
          lines.push([p.name, p.source, p.auth_type, `${c.name}${c.default ? " (default)" : ""}`, status, account]);
        }
      }
      for (const name of orphans) {
        for (const e of byProvider.get(name) ?? []) lines.push([name, "missing", "?", e.connection, e.record?.status ?? "unreadable", ""]);
      }
      return table(["PROVIDER", "SOURCE", "AUTH", "CONNECTION", "STATUS", "ACCOUNT"], lines);
    },
  );
}
