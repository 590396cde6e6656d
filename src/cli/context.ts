import { UsageError } from "../errors.js";
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

  /**
   * The profile to read and write. One chosen by --profile or AUTHSOME_PROFILE must exist; the
   * default one need not yet (the first login makes it), so a fresh home reads as empty.
   */
  get profile(): string {
    if (this.cachedProfile === undefined) {
      const name = this.home.resolveProfile(this.globals.profile, this.io.env);
      if (!this.home.profileExists(name) && name !== (this.home.config().default_profile || "default")) throw this.missingProfile(name);
      this.cachedProfile = name;
    }
    return this.cachedProfile;
  }

  private missingProfile(name: string): UsageError {
    const chosenBy = this.globals.profile ? "--profile" : "AUTHSOME_PROFILE";
    const create = `create it with \`authsome profile create ${name}\``;
    return new UsageError(`profile "${name}" does not exist (chosen with ${chosenBy}); ${this.home.profileChoices()}`, {
      hint: this.home.listProfiles().length ? `${create}, or choose an existing one with ${chosenBy}` : create,
    });
  }

  get connections(): Connections {
    this.cachedConnections ??= new Connections(new Vault(this.home, this.profile));
    return this.cachedConnections;
  }

  get providers(): ProviderRegistry {
    this.cachedProviders ??= new ProviderRegistry(this.home);
    return this.cachedProviders;
  }

  /** AUTHSOME_REFRESH_WINDOW_SECONDS, else config.json `refresh_window_seconds`, else the default. */
  get refreshWindowSeconds(): number | undefined {
    return configuredRefreshWindow(this.io.env, this.home.config());
  }

  close(): void {
    this.cachedConnections?.vault.close();
  }
}
