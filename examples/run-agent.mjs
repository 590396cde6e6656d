// An agent that knows nothing about authsome: plain fetch, no credential of its own. Run it as
//
//   npx authsome run -- node examples/run-agent.mjs https://api.openai.com/v1/models
//
// authsome starts a local proxy for the child, which adds the real credential to its HTTPS
// requests to the services you are logged in to; the child's environment holds only
// placeholders (OPENAI_API_KEY=authsome-proxy-managed).
const url = process.argv[2] ?? process.env.AGENT_URL;
if (!url) {
  console.error("usage: node examples/run-agent.mjs URL");
  process.exit(2);
}
const res = await fetch(url, { headers: { accept: "application/json" } });
console.log(res.status, await res.text());
if (!res.ok) process.exitCode = 1;
