import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { fileURLToPath } from "node:url";
import { noProxyCovers, noProxyEntries } from "../auth/egress.js";

// The child's environment: the proxy, trust in the run CA for the common runtimes, and
// placeholders where the credentials would otherwise be. Never a secret.

export const PLACEHOLDER = "authsome-proxy-managed";

/** Variables that take a whole CA bundle (system roots plus the run CA). */
export const BUNDLE_VARIABLES = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO", "AWS_CA_BUNDLE", "DENO_CERT", "CARGO_HTTP_CAINFO"];

const SYSTEM_BUNDLES = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem", "/etc/ssl/ca-bundle.pem"];

const LOOPBACK = ["localhost", "127.0.0.1", "::1"];

/** The compiled fetch preload (src/proxy/fetch-preload.cts -> dist/proxy/fetch-preload.cjs). */
export const FETCH_PRELOAD = fileURLToPath(new URL("./fetch-preload.cjs", import.meta.url));

export interface ChildEnvInput {
  /** The environment authsome itself runs in. */
  base: NodeJS.ProcessEnv;
  proxyUrl: string;
  /** A private (0700) directory that is removed when the run ends. */
  dir: string;
  caPem: string;
  /** Variables replaced by the placeholder (the injected providers' export variables). */
  placeholders: string[];
  /** Variables removed (client secrets of the injected providers). */
  remove: string[];
  /** Loopback requests go through the proxy too (`--inject-loopback-http`): not added to NO_PROXY. */
  loopbackThroughProxy?: boolean;
}

function readIfFile(path: string | undefined): string {
  if (!path) return "";
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function systemRoots(): string {
  for (const path of SYSTEM_BUNDLES) if (existsSync(path)) return readIfFile(path);
  return rootCertificates.join("\n");
}

const withNewline = (s: string) => (s === "" || s.endsWith("\n") ? s : s + "\n");

function writePrivate(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  return path;
}

/** Node's NODE_OPTIONS accepts double-quoted values. */
function nodeOptionQuote(path: string): string {
  return `"${path.replace(/(["\\])/g, "\\$1")}"`;
}

/** The routed hosts that are loopback names: the child's NO_PROXY sends them around the proxy (unless `--inject-loopback-http`). */
export function loopbackHosts(hosts: string[]): string[] {
  return hosts.filter((host) => LOOPBACK.includes(host));
}

/**
 * The hosts (names as the routes give them, "*.example.com" included) that the user's NO_PROXY
 * sends around the proxy (as egress.ts reads it). Their requests get no credential.
 */
export function bypassedHosts(env: NodeJS.ProcessEnv, hosts: string[]): string[] {
  const entries = noProxyEntries(env);
  return hosts.filter((host) => noProxyCovers(entries, host));
}

export function childEnv(input: ChildEnvInput): NodeJS.ProcessEnv {
  const base = input.base;
  const env: NodeJS.ProcessEnv = { ...base };

  // the run CA alone for Node (which adds it to its own roots), and a full bundle for the rest;
  // bundles the user pointed these variables at keep working
  const userNodeExtra = readIfFile(base.NODE_EXTRA_CA_CERTS);
  const caFile = writePrivate(join(input.dir, "run-ca.pem"), withNewline(userNodeExtra) + input.caPem);
  const userBundles = [...new Set(BUNDLE_VARIABLES.map((v) => base[v]).filter((p): p is string => Boolean(p)))].map(readIfFile).map(withNewline).join("");
  const bundleFile = writePrivate(join(input.dir, "ca-bundle.pem"), withNewline(systemRoots()) + userBundles + input.caPem);
  env.NODE_EXTRA_CA_CERTS = caFile;
  for (const name of BUNDLE_VARIABLES) env[name] = bundleFile;

  for (const name of ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"]) env[name] = input.proxyUrl;
  delete env.ALL_PROXY;
  delete env.all_proxy;
  const noProxy = noProxyEntries(base);
  if (!input.loopbackThroughProxy) for (const host of LOOPBACK) if (!noProxy.includes(host)) noProxy.push(host);
  env.NO_PROXY = env.no_proxy = noProxy.join(",");

  // Node's fetch ignores the proxy variables: Node 22.21+/24 read them with NODE_USE_ENV_PROXY,
  // older ones get a preload that installs undici's EnvHttpProxyAgent
  env.NODE_USE_ENV_PROXY = "1";
  env.NODE_OPTIONS = [base.NODE_OPTIONS, `--require ${nodeOptionQuote(FETCH_PRELOAD)}`].filter(Boolean).join(" ");

  for (const name of input.remove) delete env[name];
  for (const name of input.placeholders) env[name] = PLACEHOLDER;
  return env;
}
