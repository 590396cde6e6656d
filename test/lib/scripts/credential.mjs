// A separate agent process using the library by its package name: prints the credential it got.
// usage: node credential.mjs token|headers|fetch PROVIDER [URL]
import { Authsome } from "authsome";

const [mode, provider, url] = process.argv.slice(2);
const authsome = new Authsome();
try {
  if (mode === "token") {
    process.stdout.write(`${await authsome.getAccessToken(provider)}\n`);
  } else if (mode === "headers") {
    const headers = await authsome.getAuthHeaders(provider, { method: "GET", url });
    process.stdout.write(`${headers.Authorization.replace(/^Bearer /, "")}\n`);
  } else if (mode === "fetch") {
    const res = await authsome.fetch(provider, url);
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    process.stdout.write(`${await authsome.getAccessToken(provider)}\n`);
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (err) {
  process.stderr.write(`${err.name}: ${err.message}\n`);
  process.exitCode = err.exitCode ?? 1;
} finally {
  await authsome.close();
}
