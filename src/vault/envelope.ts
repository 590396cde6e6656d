import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

// The record envelope shared with the Python implementation:
// base64(nonce) "." base64(ciphertext || tag), AES-256-GCM, 12-byte nonce, 16-byte tag, no AAD.

const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export function seal(key: Uint8Array, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final(), cipher.getAuthTag()]);
  return `${nonce.toString("base64")}.${body.toString("base64")}`;
}

/** Returns the plaintext, or throws when the value is malformed or fails authentication. */
export function open(key: Uint8Array, sealed: string): string {
  const dot = sealed.indexOf(".");
  if (dot <= 0) throw new Error("not an encrypted value");
  const nonce = Buffer.from(sealed.slice(0, dot), "base64");
  const body = Buffer.from(sealed.slice(dot + 1), "base64");
  if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) throw new Error("malformed encrypted value");
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString("utf8");
}
