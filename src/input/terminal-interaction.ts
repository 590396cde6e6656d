// The CLI's side of a login: the browser when one can be opened, the terminal otherwise.
// Sensitive values: the local browser form when a display is available, else a hidden prompt.
import { CLI_HINTS, loginCancelled, loginDeadlines, type InputRequest, type LoginInteraction } from "../auth/interaction.js";
import { canOpenBrowser, openBrowser } from "./browser.js";
import { firstLine } from "./line.js";
import { canPrompt, readHidden, type PromptIo } from "./prompt.js";
import { startSecretForm } from "./secret-form.js";

export interface TerminalIo extends PromptIo {
  env: NodeJS.ProcessEnv;
}

export function terminalInteraction(io: TerminalIo, opts: { port: number; timeoutMs: number; signal?: AbortSignal }): LoginInteraction {
  const say = (message: string) => void io.stderr.write(message + "\n");
  const prompt = canPrompt(io) ? (request: InputRequest) => askInTerminal(io, request, say) : undefined;
  const form = canOpenBrowser(io.env) ? (request: InputRequest) => askInBrowser(io.env, opts, request, say) : undefined;

  return {
    env: io.env,
    hints: CLI_HINTS,
    say,
    signal: opts.signal,
    canOpenBrowser: () => canOpenBrowser(io.env),
    async authorize(url, service, expects = "redirect") {
      const opened = await openBrowser(io.env, url);
      // shown either way: a browser that cannot open the launch page (a remote editor's, a
      // sandboxed one) or that runs on another machine leaves the person this URL and the paste
      say(
        opened
          ? `Opened the browser to log in to ${service}. If it shows nothing, open this URL in a browser:\n\n  ${url}\n`
          : `Open this URL in a browser to log in to ${service}:\n\n  ${url}\n`,
      );
      if (opened && expects === "pin") return {}; // the PIN is asked for with the login's other answers
      say(
        expects === "pin"
          ? `Then type the PIN ${service} shows and press Enter:`
          : "Then wait here, or paste the full URL the browser was redirected to and press Enter:",
      );
      const paste = firstLine(io.stdin);
      return { pasted: paste.line, stop: paste.stop };
    },
    async deviceCode(code, service) {
      say(`To log in to ${service}, open ${code.verificationUri} and enter the code:\n\n    ${code.userCode}\n`);
      if (code.verificationUriComplete) {
        say(`Or open: ${code.verificationUriComplete}`);
        // only an explicit $BROWSER: the device flow is for machines where the browser is elsewhere
        if (io.env.BROWSER?.trim()) await openBrowser(io.env, code.verificationUriComplete);
      }
      say("Waiting for approval…");
    },
    ask: form ?? prompt,
  };
}

async function askInTerminal(io: PromptIo, request: InputRequest, say: (m: string) => void): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  for (const field of request.fields) {
    for (;;) {
      // Ctrl-C or Ctrl-D at the prompt ends the login as any other cancellation does
      const typed = await readHidden(io, `${field.label}${field.optional ? " (leave empty if none)" : ""}: `).catch(() => {
        throw loginCancelled();
      });
      const value = typed.trim();
      const problem = !value ? (field.optional ? undefined : `${field.label} is empty`) : field.check?.(value);
      if (!problem) {
        answers[field.name] = value;
        break;
      }
      say(problem);
    }
  }
  return answers;
}

async function askInBrowser(
  env: NodeJS.ProcessEnv,
  opts: { port: number; timeoutMs: number; signal?: AbortSignal },
  request: InputRequest,
  say: (m: string) => void,
): Promise<Record<string, string>> {
  const form = await startSecretForm(opts.port, request);
  const limits = loginDeadlines(opts.timeoutMs, "nothing was entered in the local form", CLI_HINTS, opts.signal);
  try {
    if (await openBrowser(env, form.url)) say(`Opened a local form in the browser for the ${request.title}. If it shows nothing, open it in a browser on this machine:\n\n  ${form.url}\n\nWaiting for it…`);
    else say(`Open this local form in a browser to enter the ${request.title}:\n\n  ${form.url}\n`);
    return await Promise.race([form.values, ...limits.waits]);
  } finally {
    limits.clear();
    form.close();
  }
}
