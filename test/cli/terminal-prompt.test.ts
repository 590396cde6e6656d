import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, SYSTEM_PYTHON, cli, emptyHome } from "../helpers.js";

// Drives `authsome login` on a real pseudo-terminal (Python's pty module), as a person would type.
const DRIVER = `
import json, os, pty, sys
node, cli, provider, answers = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
pid, fd = pty.fork()
if pid == 0:
    os.execv(node, [node, cli, "login", provider])
out = b""
seen = 0
def read_until(marker):
    global out, seen
    while marker not in out[seen:]:
        chunk = os.read(fd, 1024)
        if not chunk:
            raise SystemExit("eof before prompt: " + out.decode(errors="replace"))
        out += chunk
for answer in answers:
    read_until(b"API key: ")
    mark = len(out)
    seen = mark
    os.write(fd, answer.encode() + b"\\r")
    out = out[:mark] + b"<typed>" + out[mark:]
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
print(json.dumps({"output": out.decode(errors="replace"), "code": os.waitstatus_to_exitcode(status)}))
`;

function loginOnTerminal(home: string, provider: string, answers: string[]): { output: string; code: number } {
  const env: NodeJS.ProcessEnv = { ...process.env, AUTHSOME_HOME: home, NO_COLOR: "1" };
  delete env.RESEND_API_KEY;
  delete env.OPENAI_API_KEY;
  const r = spawnSync(SYSTEM_PYTHON, ["-c", DRIVER, process.execPath, CLI, provider, JSON.stringify(answers)], { env, encoding: "utf8", timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { output: string; code: number };
}

test("login asks for the key on a terminal without echoing it", () => {
  const home = emptyHome();
  const { output, code } = loginOnTerminal(home, "resend", ["re_typed_on_a_terminal_123"]);
  assert.equal(code, 0, output);
  assert.match(output, /Resend API key: /);
  assert.doesNotMatch(output, /re_typed_on_a_terminal_123/, "the key is never echoed");
  assert.equal(cli(["get", "resend", "-f", "api_key", "--show-secret"], { home }).stdout, "re_typed_on_a_terminal_123\n");
  assert.doesNotMatch(readFileSync(join(home, "audit.log"), "utf8"), /re_typed/);
});

test("a key that does not match the pattern is asked for again", () => {
  const home = emptyHome();
  const { output, code } = loginOnTerminal(home, "openai", ["wrong-key", "sk-secondtry0123456789abcdefgh"]);
  assert.equal(code, 0, output);
  assert.match(output, /does not look like a OpenAI key/);
  assert.doesNotMatch(output, /wrong-key|sk-secondtry/);
  assert.equal(cli(["get", "openai", "-f", "api_key", "--show-secret"], { home }).stdout, "sk-secondtry0123456789abcdefgh\n");
});
