import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";

import {
  oauth1BaseString,
  percentEncode,
  signOAuth1Request,
  type OAuth1SignInput,
} from "../../src/auth/oauth1/sign.js";
import { vectorFile, vectorInput } from "./oauth1-vectors.js";

// ---------------------------------------------------------------------------
// helpers (deliberately independent of the code under test)
// ---------------------------------------------------------------------------

/** Parses `OAuth k="v", ...` into a map of raw (still percent-encoded) values, plus realm unescaped. */
function parseHeader(header: string): { params: Map<string, string>; order: string[]; realm?: string } {
  assert.match(header, /^OAuth /);
  let rest = header.slice("OAuth ".length);
  let realm: string | undefined;
  const realmMatch = /^realm="((?:[^"\\]|\\.)*)"(?:, |$)/.exec(rest);
  if (realmMatch) {
    realm = realmMatch[1]!.replace(/\\(.)/g, "$1");
    rest = rest.slice(realmMatch[0].length);
  }
  const params = new Map<string, string>();
  const order: string[] = [];
  for (const part of rest.split(", ")) {
    const m = /^([A-Za-z0-9_.~%-]+)="([A-Za-z0-9_.~%-]*)"$/.exec(part);
    assert.ok(m, `malformed header param ${JSON.stringify(part)} in ${header}`);
    assert.ok(!params.has(m[1]!), `duplicate header param ${m[1]}`);
    params.set(m[1]!, m[2]!);
    order.push(m[1]!);
  }
  return { params, order, realm };
}

function headerSignature(header: string): string {
  const sig = parseHeader(header).params.get("oauth_signature");
  assert.ok(sig !== undefined, `no oauth_signature in ${header}`);
  return decodeURIComponent(sig);
}

/** HMAC-SHA1 over a hand-written base string with a hand-written key. */
function hmac(key: string, baseString: string): string {
  return createHmac("sha1", key).update(baseString, "utf8").digest("base64");
}

// ---------------------------------------------------------------------------
// shared vectors
// ---------------------------------------------------------------------------

describe("shared vectors (/work/shared/vectors/oauth1.json)", () => {
  test("vector file is non-empty", () => {
    assert.ok(Array.isArray(vectorFile.vectors) && vectorFile.vectors.length > 0);
  });

  for (const v of vectorFile.vectors) {
    test(v.name, () => {
      const input = vectorInput(v);
      const header = signOAuth1Request(input);
      assert.equal(headerSignature(header), v.signature);

      if (v.base_string !== undefined) {
        assert.equal(oauth1BaseString(input), v.base_string);
      }

      const { params, realm } = parseHeader(header);
      assert.equal(realm, v.realm);
      assert.equal(params.get("oauth_consumer_key"), percentEncode(v.consumer_key));
      assert.equal(params.get("oauth_nonce"), percentEncode(v.nonce));
      assert.equal(params.get("oauth_timestamp"), String(v.timestamp));
      assert.equal(params.get("oauth_signature_method"), "HMAC-SHA1");
      assert.equal(params.get("oauth_version"), v.oauth_version === null ? undefined : "1.0");
      assert.equal(params.get("oauth_token"), v.token === null ? undefined : percentEncode(v.token));
      for (const [k, val] of Object.entries(v.extra_oauth_params ?? {})) {
        assert.equal(params.get(k), percentEncode(val));
      }
      // A realm never changes the signature.
      if (v.realm === undefined) {
        assert.equal(headerSignature(signOAuth1Request({ ...input, realm: "Photos" })), v.signature);
      }
    });
  }
});

// ---------------------------------------------------------------------------
// edge cases — expected base strings written out by hand per RFC 5849 §3.4.1
// ---------------------------------------------------------------------------

/** Common credentials: ck / cs, token tok / ts, nonce n, timestamp 1, version 1.0. */
const COMMON = {
  consumerKey: "ck",
  consumerSecret: "cs",
  token: "tok",
  tokenSecret: "ts",
  nonce: "n",
  timestamp: "1",
} as const;
const KEY = "cs&ts";
/** The encoded+sorted oauth_* params for COMMON, already encoded a second time for the base string. */
const OAUTH_ENC =
  "oauth_consumer_key%3Dck%26oauth_nonce%3Dn%26oauth_signature_method%3DHMAC-SHA1" +
  "%26oauth_timestamp%3D1%26oauth_token%3Dtok%26oauth_version%3D1.0";

/** Asserts both the base string and that the header signature is HMAC-SHA1(KEY, expected base). */
function check(input: Omit<OAuth1SignInput, keyof typeof COMMON> & Partial<OAuth1SignInput>, expectedBase: string, key = KEY): void {
  const full = { ...COMMON, ...input };
  assert.equal(oauth1BaseString(full), expectedBase);
  assert.equal(headerSignature(signOAuth1Request(full)), hmac(key, expectedBase));
}

describe("percentEncode", () => {
  test("keeps exactly the unreserved set", () => {
    const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    assert.equal(percentEncode(unreserved), unreserved);
  });
  test("encodes !*'() (which encodeURIComponent would leave alone)", () => {
    assert.equal(percentEncode("!*'()"), "%21%2A%27%28%29");
  });
  test("encodes gen-delims/sub-delims, space, percent, with upper-case hex", () => {
    assert.equal(percentEncode(" %/?#[]@:$&+,;=\"<>\\^`{|}"), "%20%25%2F%3F%23%5B%5D%40%3A%24%26%2B%2C%3B%3D%22%3C%3E%5C%5E%60%7B%7C%7D");
    assert.equal(percentEncode("\n\u007f"), "%0A%7F");
  });
  test("encodes UTF-8 bytes", () => {
    assert.equal(percentEncode("é"), "%C3%A9");
    assert.equal(percentEncode("☃"), "%E2%98%83");
    assert.equal(percentEncode("😀"), "%F0%9F%98%80");
    assert.equal(percentEncode("\u00a0"), "%C2%A0");
  });
  test("empty string", () => {
    assert.equal(percentEncode(""), "");
  });
  test("lone surrogate is a TypeError", () => {
    assert.throws(() => percentEncode("a\ud800b"), TypeError);
  });
});

describe("parameter collection and normalization", () => {
  test("duplicate names from query and form are all kept, sorted by value", () => {
    check(
      { method: "GET", url: "https://example.com/r?a=2&a=1", form: [["a", "3"], ["a", ""]] },
      "GET&https%3A%2F%2Fexample.com%2Fr&a%3D%26a%3D1%26a%3D2%26a%3D3%26" + OAUTH_ENC,
    );
  });

  test("sorting is byte order on encoded name then encoded value", () => {
    // Encoded names: "A" (0x41) < "a" < "a%20b" ('%' 0x25) < "a-b" ('-' 0x2D) < "b" < "oauth_…".
    // Values of "a": "10" < "9" < "Z" < "z" (byte order, not numeric, not locale).
    check(
      {
        method: "POST",
        url: "https://example.com/s",
        form: [["b", "1"], ["a-b", "1"], ["a b", "1"], ["A", "1"], ["a", "z"], ["a", "Z"], ["a", "10"], ["a", "9"]],
      },
      "POST&https%3A%2F%2Fexample.com%2Fs&" +
        "A%3D1%26a%3D10%26a%3D9%26a%3DZ%26a%3Dz%26a%2520b%3D1%26a-b%3D1%26b%3D1%26" +
        OAUTH_ENC,
    );
  });

  test("empty values are kept (a=, bare b, form d=)", () => {
    check(
      { method: "GET", url: "https://example.com/e?a=&b&c=1", form: { d: "" } },
      "GET&https%3A%2F%2Fexample.com%2Fe&a%3D%26b%3D%26c%3D1%26d%3D%26" + OAUTH_ENC,
    );
  });

  test("form shapes: Record with string[], pair array and URLSearchParams are equivalent", () => {
    const expected = "POST&https%3A%2F%2Fexample.com%2Ff&a%3D1%26a%3D2%26" + OAUTH_ENC;
    check({ method: "POST", url: "https://example.com/f", form: { a: ["2", "1"] } }, expected);
    check({ method: "POST", url: "https://example.com/f", form: [["a", "1"], ["a", "2"]] }, expected);
    check({ method: "POST", url: "https://example.com/f", form: new URLSearchParams("a=2&a=1") }, expected);
  });

  test("form values are raw: a literal '+' is %2B, a space is %20", () => {
    check(
      { method: "POST", url: "https://example.com/p", form: { q: "a+b" } },
      "POST&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%252Bb",
    );
    check(
      { method: "POST", url: "https://example.com/p", form: { q: "a b" } },
      "POST&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%2520b",
    );
  });

  test("a form body parsed from the wire: '+' is a space, '%2B' is a plus", () => {
    check(
      { method: "POST", url: "https://example.com/p", form: new URLSearchParams("q=a+b") },
      "POST&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%2520b",
    );
    check(
      { method: "POST", url: "https://example.com/p", form: new URLSearchParams("q=a%2Bb") },
      "POST&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%252Bb",
    );
  });

  test("query string: '+' decodes to a space; '%2B' stays a plus; '%20' equals '+'", () => {
    const space = "GET&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%2520b";
    check({ method: "GET", url: "https://example.com/p?q=a+b" }, space);
    check({ method: "GET", url: "https://example.com/p?q=a%20b" }, space);
    check(
      { method: "GET", url: "https://example.com/p?q=a%2Bb" },
      "GET&https%3A%2F%2Fexample.com%2Fp&" + OAUTH_ENC + "%26q%3Da%252Bb",
    );
  });

  test("non-ASCII (UTF-8) values in form, query and path", () => {
    check(
      { method: "POST", url: "https://example.com/u", form: { name: "café ☃ 😀" } },
      "POST&https%3A%2F%2Fexample.com%2Fu&" +
        "name%3Dcaf%25C3%25A9%2520%25E2%2598%2583%2520%25F0%259F%2598%2580%26" +
        OAUTH_ENC,
    );
    // Raw and pre-encoded forms of the same URL produce the same base string.
    const expected =
      "GET&https%3A%2F%2Fexample.com%2Fcaf%25C3%25A9&" + OAUTH_ENC + "%26q%3D%25C3%25BC%25C3%259F";
    check({ method: "GET", url: "https://example.com/café?q=üß" }, expected);
    check({ method: "GET", url: "https://example.com/caf%C3%A9?q=%C3%BC%C3%9F" }, expected);
  });

  test("non-ASCII secrets are percent-encoded into the key", () => {
    check(
      { method: "GET", url: "https://example.com/k", consumerSecret: "sé&", tokenSecret: "t k" },
      "GET&https%3A%2F%2Fexample.com%2Fk&" + OAUTH_ENC,
      "s%C3%A9%26&t%20k",
    );
  });

  test("reserved characters !*'() are percent-encoded in values", () => {
    check(
      { method: "POST", url: "https://example.com/r", form: { r: "!*'()" } },
      "POST&https%3A%2F%2Fexample.com%2Fr&" + OAUTH_ENC + "%26r%3D%2521%252A%2527%2528%2529",
    );
    check(
      { method: "GET", url: "https://example.com/r?r=!*'()" },
      "GET&https%3A%2F%2Fexample.com%2Fr&" + OAUTH_ENC + "%26r%3D%2521%252A%2527%2528%2529",
    );
  });

  test("oauth_signature in the query is excluded; a 'realm' query param IS signed", () => {
    check(
      { method: "GET", url: "https://example.com/x?oauth_signature=zzz&realm=r" },
      "GET&https%3A%2F%2Fexample.com%2Fx&" + OAUTH_ENC + "%26realm%3Dr",
    );
  });

  test("extra oauth params are signed", () => {
    check(
      {
        method: "POST",
        url: "https://example.com/token",
        extraOAuthParams: { oauth_verifier: "v 1", oauth_callback: "oob" },
      },
      // "oauth_verifier" < "oauth_version" ('i' 0x69 < 's' 0x73), so the verifier sits before the version.
      "POST&https%3A%2F%2Fexample.com%2Ftoken&oauth_callback%3Doob%26oauth_consumer_key%3Dck%26oauth_nonce%3Dn" +
        "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1%26oauth_token%3Dtok" +
        "%26oauth_verifier%3Dv%25201%26oauth_version%3D1.0",
    );
  });

  test("token null/'' and version null are omitted; key ends with '&'", () => {
    const expected =
      "POST&https%3A%2F%2Fexample.com%2Ft&oauth_consumer_key%3Dck%26oauth_nonce%3Dn" +
      "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1";
    for (const token of [null, undefined, ""]) {
      const input = { ...COMMON, method: "POST", url: "https://example.com/t", token, tokenSecret: null, version: null };
      assert.equal(oauth1BaseString(input), expected);
      const header = signOAuth1Request(input);
      assert.equal(headerSignature(header), hmac("cs&", expected));
      const { params } = parseHeader(header);
      assert.equal(params.has("oauth_token"), false);
      assert.equal(params.has("oauth_version"), false);
    }
  });

  test("numeric timestamp is stringified", () => {
    check({ method: "GET", url: "https://example.com/", timestamp: 1 }, "GET&https%3A%2F%2Fexample.com%2F&" + OAUTH_ENC);
  });
});

describe("base string URI and method", () => {
  test("default port is stripped (https :443, http :80)", () => {
    check({ method: "GET", url: "https://x:443/" }, "GET&https%3A%2F%2Fx%2F&" + OAUTH_ENC);
    check({ method: "GET", url: "http://x:80/a" }, "GET&http%3A%2F%2Fx%2Fa&" + OAUTH_ENC);
  });

  test("non-default ports are kept (including 443 on http)", () => {
    check({ method: "GET", url: "https://x:8443/a" }, "GET&https%3A%2F%2Fx%3A8443%2Fa&" + OAUTH_ENC);
    check({ method: "GET", url: "http://x:443/" }, "GET&http%3A%2F%2Fx%3A443%2F&" + OAUTH_ENC);
  });

  test("scheme and host are lower-cased, path case preserved; method upper-cased", () => {
    check(
      { method: "get", url: "HTTPS://API.Example.COM/Some/Path?B=1" },
      "GET&https%3A%2F%2Fapi.example.com%2FSome%2FPath&B%3D1%26" + OAUTH_ENC,
    );
  });

  test("fragment and userinfo are dropped; empty path becomes /", () => {
    check(
      { method: "GET", url: "https://user:pw@example.com?z=1#frag" },
      "GET&https%3A%2F%2Fexample.com%2F&" + OAUTH_ENC + "%26z%3D1",
    );
  });
});

describe("Authorization header", () => {
  test("exact header: realm first (quoted-string), params percent-encoded and quoted, comma+space", () => {
    const input: OAuth1SignInput = {
      method: "POST",
      url: "https://example.com/h",
      consumerKey: "c k",
      consumerSecret: "cs",
      token: "t/k",
      tokenSecret: "ts",
      nonce: "n+1=",
      timestamp: 42,
      extraOAuthParams: { oauth_callback: "https://cb.example/ret?x=1&y=2" },
      realm: 'Ph"otos',
    };
    const base =
      "POST&https%3A%2F%2Fexample.com%2Fh&" +
      "oauth_callback%3Dhttps%253A%252F%252Fcb.example%252Fret%253Fx%253D1%2526y%253D2" +
      "%26oauth_consumer_key%3Dc%2520k%26oauth_nonce%3Dn%252B1%253D" +
      "%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D42%26oauth_token%3Dt%252Fk%26oauth_version%3D1.0";
    assert.equal(oauth1BaseString({ ...input, nonce: "n+1=", timestamp: 42 }), base);
    const sig = hmac("cs&ts", base);
    const encSig = sig.replace(/\+/g, "%2B").replace(/\//g, "%2F").replace(/=/g, "%3D");
    assert.equal(
      signOAuth1Request(input),
      'OAuth realm="Ph\\"otos", oauth_consumer_key="c%20k", oauth_token="t%2Fk", ' +
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="42", oauth_nonce="n%2B1%3D", ' +
        'oauth_version="1.0", oauth_callback="https%3A%2F%2Fcb.example%2Fret%3Fx%3D1%26y%3D2", ' +
        `oauth_signature="${encSig}"`,
    );
  });

  test("realm is never signed", () => {
    const base = { ...COMMON, method: "GET", url: "https://example.com/" };
    assert.equal(oauth1BaseString({ ...base, realm: "Photos" }), oauth1BaseString(base));
    const withRealm = signOAuth1Request({ ...base, realm: "http://sp.example.com/" });
    assert.equal(headerSignature(withRealm), headerSignature(signOAuth1Request(base)));
    assert.equal(parseHeader(withRealm).realm, "http://sp.example.com/");
    assert.ok(withRealm.startsWith('OAuth realm="http://sp.example.com/", oauth_consumer_key="ck", '));
  });

  test("realm with CR/LF is rejected (header injection)", () => {
    assert.throws(
      () => signOAuth1Request({ ...COMMON, method: "GET", url: "https://example.com/", realm: "a\r\nX-Evil: 1" }),
      TypeError,
    );
  });

  test("defaults: 32-char alphanumeric nonce, current timestamp, version 1.0", () => {
    const before = Math.floor(Date.now() / 1000);
    const input = { method: "GET", url: "https://example.com/", consumerKey: "ck", consumerSecret: "cs" };
    const h1 = parseHeader(signOAuth1Request(input)).params;
    const h2 = parseHeader(signOAuth1Request(input)).params;
    const after = Math.floor(Date.now() / 1000);
    assert.match(h1.get("oauth_nonce")!, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(h1.get("oauth_nonce"), h2.get("oauth_nonce"));
    const ts = Number(h1.get("oauth_timestamp"));
    assert.ok(Number.isInteger(ts) && ts >= before && ts <= after, `timestamp ${ts} not in [${before}, ${after}]`);
    assert.equal(h1.get("oauth_version"), "1.0");
    assert.equal(h1.has("oauth_token"), false);
  });
});

describe("JSON bodies are never signed", () => {
  test("there is no json/body input: a JSON request is signed exactly like a bodiless one", () => {
    const input = { ...COMMON, method: "POST", url: "https://api.example.com/2/tweets" };
    const expected = "POST&https%3A%2F%2Fapi.example.com%2F2%2Ftweets&" + OAUTH_ENC;
    assert.equal(oauth1BaseString(input), expected);
    assert.equal(headerSignature(signOAuth1Request(input)), hmac(KEY, expected));

    // The API has no json/body parameter; passing one is a type error and is ignored at runtime.
    const withJson = signOAuth1Request({
      ...input,
      // @ts-expect-error — there is deliberately no `json` input: JSON bodies are not part of the signature
      json: { text: "hello", "a+b": "c d" },
    });
    assert.equal(withJson, signOAuth1Request(input));
    // An empty form is the same as no form.
    assert.equal(signOAuth1Request({ ...input, form: {} }), signOAuth1Request(input));
  });
});

describe("validation", () => {
  const base = { ...COMMON, method: "GET" };
  for (const url of ["/relative/path", "example.com/x", "ftp://example.com/x", "mailto:a@example.com", "file:///etc/passwd", "not a url", ""]) {
    test(`rejects non-absolute-http(s) url ${JSON.stringify(url)}`, () => {
      assert.throws(() => signOAuth1Request({ ...base, url }), { name: "TypeError", message: /absolute http\(s\) URL/ });
      assert.throws(() => oauth1BaseString({ ...base, url }), TypeError);
    });
  }

  for (const name of ["callback", "realm", "OAUTH_callback", "xoauth_foo"]) {
    test(`rejects extraOAuthParams name ${JSON.stringify(name)}`, () => {
      assert.throws(
        () => signOAuth1Request({ ...base, url: "https://example.com/", extraOAuthParams: { [name]: "x" } }),
        { name: "TypeError", message: /must start with "oauth_"/ },
      );
    });
  }

  for (const name of ["oauth_signature", "oauth_nonce", "oauth_consumer_key", "oauth_version"]) {
    test(`rejects signer-managed extraOAuthParams ${name}`, () => {
      assert.throws(
        () => signOAuth1Request({ ...base, url: "https://example.com/", extraOAuthParams: { [name]: "x" } }),
        { name: "TypeError", message: /set by the signer/ },
      );
    });
  }

  test("rejects a non-integer numeric timestamp", () => {
    assert.throws(() => signOAuth1Request({ ...base, url: "https://example.com/", timestamp: 1.5 }), TypeError);
  });
});
