// Opening a URL in the user's browser: $BROWSER, else xdg-open when a display exists.
// Never through a shell: the URL is the program's one argument.
import { spawn } from "node:child_process";

/** The command that would open a browser here, or undefined (headless, SSH). */
export function browserCommand(env: NodeJS.ProcessEnv): string | undefined {
  if (env.BROWSER?.trim()) return env.BROWSER.trim();
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return "xdg-open";
  return undefined;
}

/** Starts the browser; resolves true once it started, false when it could not be run. */
export function openBrowser(env: NodeJS.ProcessEnv, url: string): Promise<boolean> {
  const command = browserCommand(env);
  if (!command) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      const child = spawn(command, [url], { stdio: "ignore", detached: true, env });
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
