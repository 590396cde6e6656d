// Opening a URL in the user's browser: $BROWSER, else the desktop's opener (xdg-open when a
// display exists, `open` on macOS). Never through a shell: the URL is one argument.
import { spawn } from "node:child_process";

/**
 * The commands that may open a browser here, in order (program and arguments, "%s" standing for
 * the URL), or none (headless, SSH). $BROWSER follows Python's webbrowser: a ":"-separated list of
 * commands, each split on spaces, with "%s" where the URL goes (else it goes last).
 */
export function browserCommands(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string[][] {
  const fromEnv = (env.BROWSER ?? "")
    .split(":")
    .map((entry) => entry.trim().split(/\s+/).filter(Boolean))
    .filter((argv) => argv.length > 0);
  if (fromEnv.length) return fromEnv;
  if (platform === "darwin") return [["open"]];
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return [["xdg-open"]];
  return [];
}

/** True when some command could open a browser here. */
export function canOpenBrowser(env: NodeJS.ProcessEnv): boolean {
  return browserCommands(env).length > 0;
}

/** Starts the first browser command that runs; resolves true once one started, false when none could. */
export async function openBrowser(env: NodeJS.ProcessEnv, url: string): Promise<boolean> {
  for (const [program, ...args] of browserCommands(env)) {
    const argv = args.includes("%s") ? args.map((a) => (a === "%s" ? url : a)) : [...args, url];
    if (await start(program!, argv, env)) return true;
  }
  return false;
}

function start(program: string, argv: string[], env: NodeJS.ProcessEnv): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      const child = spawn(program, argv, { stdio: "ignore", detached: true, env });
      child.once("error", () => resolve(false));
      child.once("spawn", () => {
        child.unref();
        resolve(true);
      });
    } catch {
      resolve(false);
    }
  });
}
