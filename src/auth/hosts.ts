// Which hosts are this machine's own.

/** localhost, ::1 or 127.0.0.0/8, by name (no lookup). */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "");
  // WHATWG URL already normalised 127.1, 0x7f.1 and 0:0:...:1 to their canonical forms.
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
