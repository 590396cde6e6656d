import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliOnTerminal, emptyHome } from "../helpers.js";

// Drives `authsome login` on a real pseudo-terminal, as a person would type.
function loginOnTerminal(home: string, provider: string, answers: string[]): { output: string; code: number } {
  const steps = answers.map((answer) => ({ after: "API key: ", type: answer + "\r" }));
  return cliOnTerminal(["login", provider], steps, { home, env: { RESEND_API_KEY: undefined, OPENAI_API_KEY: undefined } });
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

test("Ctrl-C at the prompt cancels the login like any other cancellation: exit 4, nothing typed shown or stored", () => {
  const home = emptyHome();
  const { output, code } = cliOnTerminal(["login", "openai"], [{ after: "API key: ", type: "sk-half-typed" }, { after: "", type: "\u0003" }], { home, env: { OPENAI_API_KEY: undefined } });
  assert.equal(code, 4, output);
  assert.match(output, /error: the login was cancelled/);
  assert.doesNotMatch(output, /sk-half-typed/);
  assert.equal(cli(["get", "openai"], { home }).code, 5, "nothing stored");
});
