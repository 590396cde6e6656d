// A program that connects an account itself, showing the authorization step its own way (a chat
// message, a UI, a log line) instead of the CLI's terminal. The credential lands in the same store
// the CLI and `authsome run` use.
//
//   GITHUB_CLIENT_ID=... GITHUB_CLIENT_SECRET=... npx tsx examples/programmatic-login.ts github
//   npx tsx examples/programmatic-login.ts github --device
import { Authsome } from "authsome";

const [provider = "github", mode] = process.argv.slice(2);
const authsome = new Authsome();
const stop = new AbortController();
process.once("SIGINT", () => stop.abort()); // Ctrl-C cancels the login; nothing is stored

try {
  const summary = await authsome.login(provider, {
    flow: mode === "--device" ? "device_code" : undefined,
    signal: stop.signal,
    timeoutMs: 5 * 60_000,
    // PKCE: the person opens this URL; the loopback callback receives the code
    onAuthorizeUrl: (url) => console.log(`Open this page to connect ${provider}: ${url}`),
    // device code: the person enters the code at the page, on any device
    onDeviceCode: ({ userCode, verificationUri }) => console.log(`Enter ${userCode} at ${verificationUri}`),
    onProgress: (message) => console.error(message),
  });
  // names and facts only: no token in it
  console.log(JSON.stringify(summary));
} finally {
  await authsome.close();
}
