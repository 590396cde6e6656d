// One pasted line from stdin (the redirect URL on machines without a browser).
import { createInterface } from "node:readline";

type Stdin = NodeJS.ReadableStream & { unref?: () => void };

/** Resolves with the first non-empty line; never resolves if stdin ends first. `stop` detaches. */
export function firstLine(stdin: Stdin): { line: Promise<string>; stop: () => void } {
  const rl = createInterface({ input: stdin, terminal: false });
  const line = new Promise<string>((resolve) => {
    rl.on("line", (text) => {
      if (text.trim()) resolve(text.trim());
    });
  });
  return {
    line,
    stop: () => {
      rl.close();
      stdin.pause();
      // A paused pipe still holds the event loop; the login is over, so let the process exit.
      stdin.unref?.();
    },
  };
}
