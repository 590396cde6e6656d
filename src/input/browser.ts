// Opening a URL in the user's browser: $BROWSER, else the desktop's opener (xdg-open when a
// display exists, `open` on macOS). Never through a shell. The opener is given a private page that
// forwards to the URL, never the URL itself: a process's arguments are readable by every user of
// the machine (/proc/PID/cmdline), and these URLs carry what must stay between authsome and the
// person (a login's state and PKCE challenge, a device code, the local form's one-time link), with
// which another user could plant their own account or key, or cancel the login.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

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

/**
 * Starts the first browser command that runs, on a launch page that forwards to `url`; resolves
 * true once one started, false when none could.
 */
export async function openBrowser(env: NodeJS.ProcessEnv, url: string): Promise<boolean> {
  const commands = browserCommands(env);
  if (commands.length === 0) return false;
  let page: ReturnType<typeof launchPage>;
  try {
    page = launchPage(url);
  } catch {
    return false; // no private page (an unusable TMPDIR): the caller shows the URL instead
  }
  for (const [program, ...args] of commands) {
    const argv = args.includes("%s") ? args.map((a) => (a === "%s" ? page.url : a)) : [...args, page.url];
    if (await start(program!, argv, env)) return true;
  }
  page.remove();
  return false;
}

/** How long a launch page is kept for a browser that is slow to start (and at most until exit). */
const LAUNCH_PAGE_LIFETIME_MS = 10 * 60_000;
const launchDirs = new Set<string>();
let removedAtExit = false;
const removeLaunchDir = (dir: string): void => {
  launchDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
};

const htmlAttribute = (text: string): string => text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A page that forwards to `url`, readable by this user only (0600 in a fresh 0700 directory); its file:// URL. */
function launchPage(url: string): { url: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "authsome-open-"));
  const file = join(dir, "open.html");
  const href = htmlAttribute(url);
  try {
    writeFileSync(
      file,
      `<!doctype html>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="0;url=${href}">\n<title>authsome</title>\n` +
        `<p>Opening <a id="target" href="${href}">the page</a>…</p>\n<script>location.replace(document.getElementById("target").href)</script>\n`,
      { flag: "wx", mode: 0o600 },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  if (!removedAtExit) process.once("exit", () => launchDirs.forEach(removeLaunchDir));
  removedAtExit = true;
  launchDirs.add(dir);
  setTimeout(() => removeLaunchDir(dir), LAUNCH_PAGE_LIFETIME_MS).unref();
  return { url: pathToFileURL(file).href, remove: () => removeLaunchDir(dir) };
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
