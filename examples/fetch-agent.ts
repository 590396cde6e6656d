// An agent that calls an API with a credential authsome keeps: one import, and the token never
// passes through the agent's code. Expired tokens are refreshed, a 401 is retried once after a
// refresh, and the credential is sent only to hosts the provider routes.
//
//   npx authsome login github
//   npx tsx examples/fetch-agent.ts github https://api.github.com/user
import { Authsome, AuthsomeError } from "authsome";

const [provider = "github", url = "https://api.github.com/user"] = process.argv.slice(2);
const authsome = new Authsome(); // AUTHSOME_HOME and the default profile, as the CLI

try {
  const res = await authsome.fetch(provider, url, { headers: { accept: "application/json" } });
  console.log(res.status, await res.text());
  if (!res.ok) process.exitCode = 1;
} catch (err) {
  if (!(err instanceof AuthsomeError)) throw err;
  // authsome's errors name what failed and what to do next, and never carry a secret
  console.error(`error: ${err.message}${err.hint ? `\nhint: ${err.hint}` : ""}`);
  process.exitCode = err.exitCode;
} finally {
  await authsome.close();
}
