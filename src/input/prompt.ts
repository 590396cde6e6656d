// A masked terminal prompt: the typed secret is never echoed. Used only when stdin is a TTY.

export interface PromptIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stderr: NodeJS.WritableStream;
}

export function canPrompt(io: PromptIo): boolean {
  return Boolean(io.stdin.isTTY && io.stdin.setRawMode);
}

/** Reads one line without echo. Ctrl-C rejects; backspace edits. */
export function readHidden(io: PromptIo, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const { stdin, stderr } = io;
    let value = "";
    // echo goes off before the prompt appears, so nothing typed after it is ever shown
    stdin.setRawMode!(true);
    stdin.resume();
    stderr.write(prompt);
    const finish = (err?: Error) => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.removeListener("data", onData);
      stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return finish();
        if (ch === "\u0003") return finish(new Error("cancelled"));
        if (ch === "\u0004" && value === "") return finish(new Error("cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
  });
}
