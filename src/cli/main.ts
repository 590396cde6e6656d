import { Command, CommanderError, Option } from "commander";
import { ExitCode, UsageError } from "../errors.js";
import { CommandContext, type GlobalOptions, type Io } from "./context.js";
import { Output, streamColours } from "./output.js";
import { GET_OPTIONS, GLOBAL_OPTIONS, type OptionSpec } from "./spec.js";

// The program. Command modules are imported only when their command runs, so the
// everyday `authsome get` starts without loading what it does not use.

type Handler = (ctx: CommandContext, ...args: any[]) => Promise<void | number>;
type Loader = () => Promise<{ default: Handler }>;

const VERSION = "0.1.0";

function withOptions(cmd: Command, specs: OptionSpec[]): Command {
  for (const { flags, description } of specs) cmd.option(flags, description);
  return cmd;
}

const globalOptions = (cmd: Command) => withOptions(cmd, GLOBAL_OPTIONS);

/**
 * The options of a command and its parents. Every level declares the global options, and
 * commander's optsWithGlobals() lets a parent's default (--no-color's implicit true) overwrite
 * what was typed after the subcommand; here a value given anywhere wins over a default.
 */
function optionsOf(cmd: Command): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  const chain: Command[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) chain.unshift(c);
  for (const c of chain) {
    for (const [key, value] of Object.entries(c.opts())) {
      if (!(key in options) || c.getOptionValueSource(key) !== "default") options[key] = value;
    }
  }
  return options;
}

const commandPath = (cmd: Command): string => (cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name());

/** A parse failure as every other error: commander's message, and the failing command's help as the hint. */
function usageError(err: CommanderError, failed: Command): UsageError {
  const path = commandPath(failed);
  // "commander.help": a command that groups others was given none of them (its help is on stderr)
  const message = err.code === "commander.help" ? `\`${path}\` needs a command` : err.message.replace(/^error: /, "").replace(/\n/g, " ");
  return new UsageError(message, { hint: `run \`${path} --help\`` });
}

/** The Output for an error before any command ran: the flags are read from argv (up to `--`, after which words are `run`'s child's). */
function outputBeforeParse(argv: string[], io: Io): Output {
  const own = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  return new Output({ json: own.includes("--json"), quiet: false, color: streamColours(own.includes("--no-color"), io.env, io) }, io);
}

export async function run(argv: string[], io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let ctx: CommandContext | undefined;
  let failed: Command | undefined; // the (sub)command whose arguments did not parse

  const action = (load: Loader) =>
    async function (this: Command, ...args: unknown[]) {
      const opts = optionsOf(this) as GlobalOptions;
      ctx = new CommandContext(io, opts);
      // -p names a profile that must exist, whether or not the command reads one (a mistyped
      // `-p wrok register ...` must not act on the default profile's home and say nothing)
      if (opts.profile !== undefined) void ctx.profile;
      const handler = (await load()).default;
      // commander passes (positional..., options, command): hand the handler positionals and options
      const code = await handler(ctx, ...args.slice(0, -1));
      if (typeof code === "number") exitCode = code;
    };

  // commander's error messages are reported in the catch below (plain or --json), so here it only
  // notes which command failed; what it writes to stderr itself is the help of a command that
  // groups others and was given none, also a failure of that command
  const parsesQuietly = (cmd: Command) =>
    cmd
      .configureOutput({
        writeOut: (s) => io.stdout.write(s),
        writeErr: (s) => {
          failed = cmd;
          io.stderr.write(s);
        },
        outputError: () => void (failed = cmd),
      })
      .exitOverride();

  const program = parsesQuietly(globalOptions(new Command("authsome")))
    .description("The local credential layer for AI agents: log in once, let agents use credentials without holding them.")
    .version(VERSION, "-V, --version");

  const subcommand = (parent: Command, name: string, description: string) => parsesQuietly(globalOptions(parent.command(name).description(description)));
  const command = (name: string, description: string) => subcommand(program, name, description);

  command("list", "list providers, where each comes from, and their connections")
    .option("--connected", "only providers with connections")
    .action(action(() => import("./commands/list.js")));

  command("inspect", "print a provider definition (valid input for `register`)")
    .argument("<provider>")
    .action(action(() => import("./commands/inspect.js")));

  withOptions(command("get", "show a connection; --field prints one value").argument("<provider>"), GET_OPTIONS)
    .action(action(() => import("./commands/get.js")));

  command("export", "print a connection's credentials as environment variables")
    .argument("<provider>")
    .option("-c, --connection <name>", "connection name")
    .addOption(new Option("--format <format>", "output format").choices(["env", "shell", "dotenv", "json"]).default("env"))
    .action(action(() => import("./commands/export.js")));

  command("login", "connect an account of a provider")
    .argument("<provider>")
    .option("-c, --connection <name>", "connection name", undefined)
    .option("--flow <flow>", "login flow (pkce, device_code, dcr_pkce, api_key, oauth1, app_only)")
    .option("--scopes <scopes>", "comma-separated scopes to request")
    .option("--base-url <url>", "base URL for providers with templated endpoints")
    .option("--client-id <id>", "OAuth client id (the secret is never taken from the command line)")
    .option("--force", "replace an existing connection")
    .option("--pin", "oauth1: authorize with a PIN instead of a browser redirect (the default when no browser can be opened)")
    .option("--existing-token", "oauth1: store an access token and secret you already have (from the definition's variables, e.g. X_ACCESS_TOKEN / X_ACCESS_TOKEN_SECRET, or asked for; never from the command line)")
    .option("--port <port>", "loopback port for the pkce callback (default 7998, or AUTHSOME_CALLBACK_PORT)")
    .option("--timeout <seconds>", "how long to wait for the authorization (default 300)")
    .action(action(() => import("./commands/login.js")));

  command("logout", "sign a connection out and delete it locally")
    .argument("<provider>")
    .option("-c, --connection <name>", "connection name")
    .action(action(() => import("./commands/logout.js")));

  command("revoke", "sign out every connection of a provider and forget its client credentials")
    .argument("<provider>")
    .action(action(() => import("./commands/revoke.js")));

  command("remove", "delete a provider's local state (connections, client credentials, registered definition); no network")
    .argument("<provider>")
    .option("-c, --connection <name>", "remove only this connection")
    .action(action(() => import("./commands/remove.js")));

  command("register", "add a provider definition from a JSON file (or - for stdin)")
    .argument("<path>")
    .option("--force", "replace an existing definition of that name")
    .action(action(() => import("./commands/register.js")));

  command("whoami", "show the home, profile, encryption mode and who each connection is")
    .action(action(() => import("./commands/whoami.js")));

  command("doctor", "check the home, the store, the master key and the provider files")
    .action(action(() => import("./commands/doctor.js")));

  command("log", "show the audit log")
    .option("-n, --limit <count>", "show the last N entries", "50")
    .option("--provider <name>", "only entries of this provider")
    .action(action(() => import("./commands/log.js")));

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  // everything after `--`, or from the first word that is not an option, is the child's (an
  // unknown option before it is a usage error, not a command)
  program.enablePositionalOptions();
  command("run", "run a command behind a local proxy that adds credentials to its HTTPS requests")
    .argument("[command...]", "the command to run and its arguments (after --)")
    .option("--provider <name>", "inject only this provider (repeatable); a missing connection is an error", collect)
    .option("--use <provider=connection>", "use this connection of a provider (repeatable)", collect)
    .option("--resolve <host:port:address>", "connect to ADDRESS for HOST:PORT, as curl's --resolve (repeatable)", collect)
    .option("--upstream-ca <file>", "also trust this CA (PEM) for upstream TLS")
    .option("--inject-loopback-http", "also inject into plain-http requests to loopback addresses (local test servers); loopback then goes through the proxy")
    .passThroughOptions()
    .action(action(() => import("./commands/run.js")));

  const profile = command("profile", "list, create and select profiles");
  subcommand(profile, "list", "list profiles").action(action(() => import("./commands/profile-list.js")));
  subcommand(profile, "create", "create a profile")
    .argument("<name>")
    .option("--description <text>", "what the profile is for")
    .action(action(() => import("./commands/profile-create.js")));
  subcommand(profile, "use", "make a profile the default")
    .argument("<name>")
    .action(action(() => import("./commands/profile-use.js")));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) {
      exitCode = ExitCode.ok; // help and version
    } else {
      // every other commander failure is a usage error
      const out = ctx?.out ?? outputBeforeParse(argv, io);
      exitCode = out.error(err instanceof CommanderError ? usageError(err, failed ?? program) : err);
    }
  } finally {
    ctx?.close();
  }
  return exitCode;
}

