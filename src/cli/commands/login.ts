import { UsageError } from "../../errors.js";
import { DEFAULT_CALLBACK_PORT } from "../../input/callback-server.js";
import { terminalInteraction } from "../../input/terminal-interaction.js";
import { MAX_LOGIN_WAIT_SECONDS } from "../../auth/interaction.js";
import { login as runLogin, loginSummary } from "../../auth/login.js";
import type { FlowType } from "../../providers/schema.js";
import { ENDING_SIGNALS } from "../../auth/hold-signals.js";
import type { CommandContext } from "../context.js";

export interface LoginOptions {
  connection?: string;
  flow?: string;
  scopes?: string;
  baseUrl?: string;
  clientId?: string;
  force?: boolean;
  pin?: boolean;
  existingToken?: boolean;
  port?: string;
  timeout?: string;
}

export default async function login(ctx: CommandContext, provider: string, opts: LoginOptions): Promise<void> {
  const { definition } = ctx.providers.get(provider);
  const port = opts.port !== undefined ? positive(opts.port, "--port", DEFAULT_CALLBACK_PORT, 65535) : positive(ctx.io.env.AUTHSOME_CALLBACK_PORT, "AUTHSOME_CALLBACK_PORT", DEFAULT_CALLBACK_PORT, 65535);
  const timeoutMs = positive(opts.timeout, "--timeout", 300, MAX_LOGIN_WAIT_SECONDS) * 1000;
  // Ctrl-C, a closed terminal or a kill cancel the login: its callback server and the browser's
  // launch page go away, and nothing is stored
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  for (const s of ENDING_SIGNALS) process.once(s, onSignal);
  try {
    const { record, flow } = await runLogin(
      { home: ctx.home, profile: ctx.profile, connections: ctx.connections },
      definition,
      {
        flow: opts.flow as FlowType | undefined,
        connection: opts.connection,
        scopes: opts.scopes !== undefined ? opts.scopes.split(",").map((s) => s.trim()).filter(Boolean) : undefined,
        baseUrl: opts.baseUrl,
        clientId: opts.clientId,
        force: opts.force,
        pin: opts.pin,
        existingToken: opts.existingToken,
        port,
        timeoutMs,
      },
      terminalInteraction(ctx.io, { port, timeoutMs, signal: interrupt.signal }),
    );
    const connection = record.connection_name;
    ctx.out.result(loginSummary(record, flow, ctx.profile), () => []);
    const who = record.account.label ?? record.account.id;
    ctx.out.success(`Logged in to ${definition.display_name}${who ? ` as ${who}` : ""} (connection "${connection}").`);
  } finally {
    for (const s of ENDING_SIGNALS) process.removeListener(s, onSignal);
  }
}

function positive(value: string | undefined, option: string, fallback: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > max) {
    throw new UsageError(`${option} must be a whole number from 1 to ${max}, not ${JSON.stringify(value)}`);
  }
  return n;
}
