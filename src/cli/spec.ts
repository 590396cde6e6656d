// Option declarations shared by the commander program and the fast path of `get`, so the two
// can never disagree about what a flag means. Kept free of imports: the fast path loads it.

export interface OptionSpec {
  flags: string; // commander syntax: "-c, --connection <name>" or "--show-secret"
  description: string;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { flags: "--json", description: "print one JSON document on stdout" },
  { flags: "-q, --quiet", description: "print only results and errors" },
  { flags: "--no-color", description: "disable colour (also NO_COLOR)" },
  { flags: "-p, --profile <name>", description: "profile to use (also AUTHSOME_PROFILE)" },
];

export const GET_OPTIONS: OptionSpec[] = [
  { flags: "-c, --connection <name>", description: "connection name (default: the provider's default)" },
  { flags: "-f, --field <name>", description: "print only this field (e.g. access_token, status, account.label)" },
  { flags: "--show-secret", description: "reveal secret fields (access_token, refresh_token, api_key)" },
];

export const camelCase = (name: string) => name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/**
 * Parses argv against specs the way commander would for the plain cases: long and short flags,
 * `--name value` and `--name=value`, positionals. Returns undefined for anything else (unknown
 * flags, `--`, bundled short flags, a missing value) so the full program can report it.
 */
export function parseSimple(argv: string[], specs: OptionSpec[]): { positionals: string[]; options: Record<string, unknown> } | undefined {
  const byFlag = new Map<string, { key: string; takesValue: boolean; negated: boolean }>();
  for (const { flags } of specs) {
    const m = /^(?:-(\w), )?--([\w-]+)( <\w+>)?$/.exec(flags)!;
    const negated = m[2]!.startsWith("no-");
    const entry = { key: camelCase(negated ? m[2]!.slice(3) : m[2]!), takesValue: Boolean(m[3]), negated };
    byFlag.set(`--${m[2]}`, entry);
    if (m[1]) byFlag.set(`-${m[1]}`, entry);
  }
  const positionals: string[] = [];
  const options: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const spec = byFlag.get(eq > 0 ? arg.slice(0, eq) : arg);
    if (!spec) return undefined;
    if (!spec.takesValue) {
      if (eq > 0) return undefined;
      options[spec.key] = !spec.negated;
    } else if (eq > 0) {
      options[spec.key] = arg.slice(eq + 1);
    } else {
      const value = argv[++i];
      if (value === undefined || value.startsWith("-")) return undefined;
      options[spec.key] = value;
    }
  }
  return { positionals, options };
}
