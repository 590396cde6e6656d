// Who a connection is, read off a service's answer: shown on terminals by list, whoami and log.
import { test } from "node:test";
import assert from "node:assert/strict";
import { identityFrom } from "../../src/auth/identity.js";

test("an account id or label carries no escape sequence to the terminal; numbers stay exact strings", () => {
  const label = "mallory\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u009b31m";
  assert.deepEqual(identityFrom({ url: "https://api.example.test/me", id_path: "data.id", label_path: "data.username" }, { data: { id: 1234567890123456789012n.toString(), username: label } }), {
    id: "1234567890123456789012",
    label: "mallory ]52;c;ZXZpbA== [2J 31m",
  });
  assert.deepEqual(identityFrom({ url: "https://api.example.test/me", id_path: "id", label_path: "login" }, { id: 42, login: { nested: true } }), { id: "42", label: null });
});
