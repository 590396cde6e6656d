import { configuredRefreshWindow } from "../home/config.js";
import { Home } from "../home/home.js";
import { Connections } from "../vault/connections.js";
import { Vault } from "../vault/store.js";
import { ProviderRegistry } from "../providers/registry.js";
import { Output, streamColours, type Streams } from "./output.js";

export interface GlobalOptions {
  json?: boolean;
  quiet?: boolean;
  color?: boolean; // commander's --no-color
  profile?: string;
}

export interface Io extends Streams {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  env: NodeJS.ProcessEnv;
}

/** What every command gets injected: where the home is, which profile, how to print. */
export class CommandContext {
  readonly home: Home;
  readonly out: Output;
  private cachedProfile: string | undefined;
  private cachedConnections: Connections | undefined;
  private cachedProviders: ProviderRegistry | undefined;

  constructor(
    readonly io: Io,
    readonly globals: GlobalOptions,
  ) {
    this.home = new Home();
    this.out = new Output(
      {
        json: Boolean(globals.json),
        quiet: Boolean(globals.quiet),
        color: streamColours(globals.color === false, io.env, io),
      },
      io,
    );
  }

  /** The name of the profile in effect (--profile, AUTHSOME_PROFILE, the default), whether or not it exists. */
  get profileName(): string {
    return this.home.resolveProfile(this.globals.profile, this.io.env);
  }

  /** The profile to read and write; one chosen with --profile or AUTHSOME_PROFILE must exist. */
  get profile(): string {
    this.cachedProfile ??= this.home.existingProfile(this.globals.profile, this.io.env, "--profile");
    return this.cachedProfile;
  }

  get connections(): Connections {
    this.cachedConnections ??= new Connections(new Vault(this.home, this.profile), this.home.hintScope(this.profile, this.io.env));
    return this.cachedConnections;
  }

  get providers(): ProviderRegistry {
    this.cachedProviders ??= new ProviderRegistry(this.home);
    return this.cachedProviders;
  }

  /** AUTHSOME_REFRESH_WINDOW_SECONDS, else config.json `refresh_window_seconds`, else the default. */
  get refreshWindowSeconds(): number | undefined {
    return configuredRefreshWindow(this.io.env, this.home.config(), this.home.paths.config);
  }

  close(): void {
    this.cachedConnections?.vault.close();
  }
}
