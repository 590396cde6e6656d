import { BlockList, isIP } from "node:net";

// Which hosts are this machine's own.

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6"); // IPv4-mapped

/** localhost, or an address in 127.0.0.0/8 or ::1, however it is spelled (127.1, 0:0:0:0:0:0:0:1, ::ffff:127.0.0.1); no lookup. */
export function isLoopbackHost(hostname: string): boolean {
  let host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (host === "localhost") return true;
  if (!isIP(host)) {
    // other spellings of an address, as the URL standard reads them (a name stays a name)
    try {
      host = new URL(`http://${host.includes(":") ? `[${host}]` : host}`).hostname.replace(/^\[|\]$/g, "");
    } catch {
      return false;
    }
  }
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? "ipv4" : "ipv6");
}
