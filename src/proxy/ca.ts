import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";

// The per-run certificate authority: an ECDSA P-256 key and self-signed certificate made in
// memory, never written anywhere but the child's private trust files. node:crypto signs but
// cannot build certificates, so the few DER structures X.509 needs are encoded here.

// --- minimal DER -------------------------------------------------------------------------

function tlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  let header: Buffer;
  if (len < 0x80) header = Buffer.from([tag, len]);
  else if (len < 0x100) header = Buffer.from([tag, 0x81, len]);
  else if (len < 0x10000) header = Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  else header = Buffer.from([tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff]);
  return Buffer.concat([header, content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function bits(b: Buffer, unused = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
}

function uint(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const stack = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}

function utcTime(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, "ascii"));
}

const OID = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

const name = (cn: string) => seq(set(seq(oid(OID.organization), utf8("authsome"))), set(seq(oid(OID.commonName), utf8(cn))));
const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: "spki", format: "der" });
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the uncompressed point). */
function keyId(spki: Buffer): Buffer {
  return createHash("sha1").update(spki.subarray(spki.length - 65)).digest();
}

function serial(): Buffer {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, and never a leading zero byte
  return b;
}

function toPem(der: Buffer): string {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END CERTIFICATE-----\n`;
}

interface CertInput {
  subject: Buffer;
  issuer: Buffer;
  subjectKey: KeyObject;
  signingKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
}

function certificate(c: CertInput): Buffer {
  const alg = seq(oid(OID.ecdsaSha256));
  const tbs = seq(
    explicit(0, uint(Buffer.from([2]))),
    uint(serial()),
    alg,
    c.issuer,
    seq(utcTime(c.notBefore), utcTime(c.notAfter)),
    c.subject,
    spkiDer(c.subjectKey),
    explicit(3, seq(...c.extensions)),
  );
  const signature = sign("sha256", tbs, c.signingKey); // DER ECDSA-Sig-Value
  return seq(tbs, alg, bits(signature));
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** The run's CA and the leaf certificates it issues, one per host, cached. */
export class RunCa {
  readonly certPem: string;
  private readonly caKey: KeyObject;
  private readonly caName: Buffer;
  private readonly caKeyId: Buffer;
  private readonly leafPublic: KeyObject;
  private readonly leafKeyPem: string;
  private readonly leafKeyId: Buffer;
  private readonly notBefore = new Date(Date.now() - HOUR);
  private readonly notAfter = new Date(Date.now() + 90 * DAY);
  private readonly contexts = new Map<string, SecureContext>();

  constructor() {
    const ca = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    this.caKey = ca.privateKey;
    this.caName = name(`authsome run CA ${randomBytes(4).toString("hex")}`);
    this.caKeyId = keyId(spkiDer(ca.publicKey));
    const der = certificate({
      subject: this.caName,
      issuer: this.caName,
      subjectKey: ca.publicKey,
      signingKey: this.caKey,
      notBefore: this.notBefore,
      notAfter: this.notAfter,
      extensions: [
        ext(OID.basicConstraints, true, seq(bool(true), uint(Buffer.from([0])))),
        ext(OID.keyUsage, true, bits(Buffer.from([0x86]), 1)), // digitalSignature, keyCertSign, cRLSign
        ext(OID.subjectKeyId, false, octets(this.caKeyId)),
      ],
    });
    this.certPem = toPem(der);
    // one leaf key for every host of the run: certificates differ, key generation is paid once
    const leaf = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    this.leafPublic = leaf.publicKey;
    this.leafKeyPem = leaf.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    this.leafKeyId = keyId(spkiDer(leaf.publicKey));
  }

  /** A PEM leaf certificate for one host name or IP address, signed by the run CA. */
  leafPem(host: string): string {
    const ipVersion = isIP(host);
    const san = ipVersion
      ? tlv(0x87, ipBytes(host, ipVersion))
      : tlv(0x82, Buffer.from(host.toLowerCase(), "ascii"));
    const der = certificate({
      subject: name(host.slice(0, 64)),
      issuer: this.caName,
      subjectKey: this.leafPublic,
      signingKey: this.caKey,
      notBefore: this.notBefore,
      notAfter: this.notAfter,
      extensions: [
        ext(OID.basicConstraints, true, seq()),
        ext(OID.keyUsage, true, bits(Buffer.from([0x80]), 7)), // digitalSignature
        ext(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
        ext(OID.subjectAltName, false, seq(san)),
        ext(OID.subjectKeyId, false, octets(this.leafKeyId)),
        ext(OID.authorityKeyId, false, seq(tlv(0x80, this.caKeyId))),
      ],
    });
    return toPem(der);
  }

  /** The TLS server context presenting this host's leaf certificate (made once per host). */
  secureContext(host: string): SecureContext {
    const key = host.toLowerCase();
    let ctx = this.contexts.get(key);
    if (!ctx) {
      ctx = createSecureContext({ key: this.leafKeyPem, cert: this.leafPem(key), minVersion: "TLSv1.2" });
      this.contexts.set(key, ctx);
    }
    return ctx;
  }
}

function ipBytes(ip: string, version: number): Buffer {
  if (version === 4) return Buffer.from(ip.split(".").map(Number));
  // an IPv4 part at the end ("::ffff:127.0.0.1") is the last two groups
  const embedded = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (embedded) {
    const v4 = ipBytes(embedded[2]!, 4);
    ip = `${embedded[1]}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  // expand "::" and return the 16 bytes of an IPv6 address
  const [head, tail] = ip.includes("::") ? ip.split("::") : [ip, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || "0", 16), i * 2));
  return out;
}
