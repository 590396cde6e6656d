import { Command, CommanderError, Option } from "commander";
import { ExitCode } from "../errors.js";
import { CommandContext, type GlobalOptions, type Io } from "./context.js";
import { Output } from "./output.js";
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

export async function run(argv: string[], io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let exitCode: number = ExitCode.ok;
  let ctx: CommandContext | undefined;

  const action = (load: Loader) =>
    async function (this: Command, ...args: unknown[]) {
      const opts = this.optsWithGlobals() as GlobalOptions;
      ctx = new CommandContext(io, opts);
      const handler = (await load()).default;
      // commander passes (positional..., options, command): hand the handler positionals and options
      const code = await handler(ctx, ...args.slice(0, -1));
      if (typeof code === "number") exitCode = code;
    };

  const program = globalOptions(new Command("authsome"))
    .description("The local credential layer for AI agents: log in once, let agents use credentials without holding them.")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run `authsome --help` for usage)")
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();

  const command = (name: string, description: string) => {
    const cmd = globalOptions(program.command(name).description(description)).exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    return cmd;
  };

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
  globalOptions(profile.command("list").description("list profiles")).exitOverride().action(action(() => import("./commands/profile-list.js")));
  globalOptions(profile.command("create").description("create a profile").argument("<name>").option("--description <text>", "what the profile is for"))
    .exitOverride()
    .action(action(() => import("./commands/profile-create.js")));
  globalOptions(profile.command("use").description("make a profile the default").argument("<name>"))
    .exitOverride()
    .action(action(() => import("./commands/profile-use.js")));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version end with code 0; every other parse failure is a usage error
      exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    } else {
      const out = ctx?.out ?? new Output({ json: argv.includes("--json"), quiet: false, color: false }, io);
      exitCode = out.error(err);
    }
  } finally {
    ctx?.close();
  }
  return exitCode;
}

