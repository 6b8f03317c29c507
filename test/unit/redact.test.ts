import { describe, expect, it } from "vitest";
import { redactText, type RedactionCounts, type RedactOptions } from "../../src/bundle/redact.js";

// Secrets shaped like the real ones (random, never issued). Each table row gives the input,
// the exact output, and the counts; every row also checks that no secret survives.
const GH = "ghp_R8fK2mQ9xL4vT7nB1cZ6wY3pD5sH0jA2eU8g";
const GH_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123";
const AWS = "AKIAQ3EGUQ7XYZW4PLMN";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PEM = "-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEA7x\\nQk9yZ2V0\\n-----END RSA PRIVATE KEY-----";

const text: RedactOptions = { format: "text" };
const json: RedactOptions = { format: "json" };

interface Row {
  name: string;
  input: string;
  output: string;
  counts: RedactionCounts;
  options?: RedactOptions;
  secrets?: string[];
}

const ROWS: Row[] = [
  {
    name: "strace execve env array (-v), values with escaped quotes and \\x bytes",
    input: `123 1.5 execve("/probe", ["/probe"], ["PATH=/bin", "GITHUB_TOKEN=${GH}", "DB_PASSWORD=pa\\"ss\\x01word", "HOME=/root"]) = 0`,
    output: `123 1.5 execve("/probe", ["/probe"], ["PATH=/bin", "GITHUB_TOKEN=[redacted:secret-env]", "DB_PASSWORD=[redacted:secret-env]", "HOME=/root"]) = 0`,
    counts: { "secret-env": 2 },
    secrets: [GH, "pa\\\"ss", "word"],
  },
  {
    name: "strace string truncated by -s: the value ends at the closing quote, the ellipsis stays",
    input: `write(1, "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG"..., 300) = 300`,
    output: `write(1, "aws_secret_access_key=[redacted:secret-env]"..., 300) = 300`,
    counts: { "secret-env": 1 },
    secrets: ["wJalrXUtnFEMI"],
  },
  {
    name: "lower-case names, shell forms: bare, double- and single-quoted",
    input: `export api_key=abc123; my_credential="s p a c e" x_Secret='q w'`,
    output: `export api_key=[redacted:secret-env]; my_credential="[redacted:secret-env]" x_Secret='[redacted:secret-env]'`,
    counts: { "secret-env": 3 },
    secrets: ["abc123", "s p a c e", "q w"],
  },
  {
    name: "names that do not look secret are kept",
    input: `PATH=/usr/bin TZ=CST-8 LANG=C.UTF-8 PWD=/root`,
    output: `PATH=/usr/bin TZ=CST-8 LANG=C.UTF-8 PWD=/root`,
    counts: {},
  },
  {
    name: "credentials in URLs (user kept, password replaced); a URL without one is kept",
    input: `connect "postgres://app:hunter2@db:5432/x" and https://example.com/a@b and git+ssh://git:s3cr%40t@host/r`,
    output: `connect "postgres://app:[redacted:url-credentials]@db:5432/x" and https://example.com/a@b and git+ssh://git:[redacted:url-credentials]@host/r`,
    counts: { "url-credentials": 2 },
    secrets: ["hunter2", "s3cr%40t"],
  },
  {
    name: "HTTP headers in a captured write buffer (strace \\r\\n escapes end the value)",
    input: `sendto(3, "GET / HTTP/1.1\\r\\nHost: api\\r\\nAuthorization: Bearer abc.def\\r\\ncookie: sid=42; csrf=x\\r\\n\\r\\n", 80, 0) = 80`,
    output: `sendto(3, "GET / HTTP/1.1\\r\\nHost: api\\r\\nAuthorization: [redacted:authorization-header]\\r\\ncookie: [redacted:cookie-header]\\r\\n\\r\\n", 80, 0) = 80`,
    counts: { "authorization-header": 1, "cookie-header": 1 },
    secrets: ["abc.def", "sid=42"],
  },
  {
    name: "headers in plain text end at the line end",
    input: "Proxy-Authorization: Basic dXNlcjpwYXNz\nSet-Cookie: a=b; HttpOnly\nnext line",
    output: "Proxy-Authorization: [redacted:authorization-header]\nSet-Cookie: [redacted:cookie-header]\nnext line",
    counts: { "authorization-header": 1, "cookie-header": 1 },
    secrets: ["dXNlcjpwYXNz", "a=b"],
  },
  {
    name: "PEM private key inside an strace string (\\n escapes), quote kept",
    input: `read(5, "${PEM}\\n", 4096) = 100`,
    output: `read(5, "[redacted:pem-private-key]\\n", 4096) = 100`,
    counts: { "pem-private-key": 1 },
    secrets: ["MIIEowIBAAKCAQEA7x", "Qk9yZ2V0"],
  },
  {
    name: "PEM private key cut off by strace -s: redacted to the end of the string",
    input: `read(5, "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk"..., 4096) = 4096`,
    output: `read(5, "[redacted:pem-private-key]"..., 4096) = 4096`,
    counts: { "pem-private-key": 1 },
    secrets: ["b3BlbnNzaC1rZXk"],
  },
  {
    name: "a public key or certificate is not a secret",
    input: "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----",
    output: "-----BEGIN PUBLIC KEY-----\nMFkwEwYH\n-----END PUBLIC KEY-----",
    counts: {},
  },
  {
    name: "token shapes anywhere, also right after an strace escape",
    input: `write(2, "id ${AWS}\\n${GH}\\t${GH_PAT} ${JWT}", 200)`,
    output: `write(2, "id [redacted:aws-access-key]\\n[redacted:github-token]\\t[redacted:github-token] [redacted:jwt]", 200)`,
    counts: { "aws-access-key": 1, "github-token": 2, jwt: 1 },
    secrets: [AWS, GH, GH_PAT, JWT],
  },
  {
    name: "token-like substrings inside longer words are kept",
    input: "XAKIAQ3EGUQ7XYZW4PLMNX notghp_R8fK2mQ9xL4vT7nB1cZ6wY3pD5sH0jA2eU8g",
    output: "XAKIAQ3EGUQ7XYZW4PLMNX notghp_R8fK2mQ9xL4vT7nB1cZ6wY3pD5sH0jA2eU8g",
    counts: {},
  },
  {
    name: "JSON lines: secret keys, env arrays and strace strings inside JSON strings",
    input: [
      `{"t":1,"ev":"env","GITHUB_TOKEN":"${GH}","apiKey":"k-1","keep":"x"}`,
      `{"t":2,"ev":"argv","env":["HOME=/root","NPM_TOKEN=npm_abc def"]}`,
      `{"kind":"syscall","args":"[\\"AWS_SECRET_ACCESS_KEY=wJal\\\\\\"rX\\\", \\"TZ=UTC\\"]","headers":{"Authorization":"Bearer zzz"}}`,
      "not json: DB_PASSWORD=hunter2",
    ].join("\n"),
    output: [
      `{"t":1,"ev":"env","GITHUB_TOKEN":"[redacted:secret-env]","apiKey":"[redacted:secret-env]","keep":"x"}`,
      `{"t":2,"ev":"argv","env":["HOME=/root","NPM_TOKEN=[redacted:secret-env]"]}`,
      `{"kind":"syscall","args":"[\\"AWS_SECRET_ACCESS_KEY=[redacted:secret-env]\\", \\"TZ=UTC\\"]","headers":{"Authorization":"[redacted:authorization-header]"}}`,
      "not json: DB_PASSWORD=[redacted:secret-env]",
    ].join("\n"),
    counts: { "secret-env": 5, "authorization-header": 1 },
    options: json,
    secrets: [GH, "k-1", "npm_abc", "wJal", "zzz", "hunter2"],
  },
  {
    name: "JSON: a literal that changed is re-encoded, the others keep their bytes",
    input: `{"a":"\\u00e9\\/x","b":"GH=${GH}"}`,
    output: `{"a":"\\u00e9\\/x","b":"GH=[redacted:github-token]"}`,
    counts: { "github-token": 1 },
    options: json,
    secrets: [GH],
  },
  {
    name: "JSON printed into text (stderr), and the probe's JSON line as strace saw its write()",
    input: [
      `config {"NPM_TOKEN": "npm_a\\"b", "name": "x"}`,
      `write(1, "{\\"t\\":1,\\"vars\\":{\\"NPM_TOKEN\\":\\"npm_a\\\\\\"b c\\",\\"TZ\\":\\"UTC\\"}}\\n", 60) = 60`,
    ].join("\n"),
    output: [
      `config {"NPM_TOKEN": "[redacted:secret-env]", "name": "x"}`,
      `write(1, "{\\"t\\":1,\\"vars\\":{\\"NPM_TOKEN\\":\\"[redacted:secret-env]\\",\\"TZ\\":\\"UTC\\"}}\\n", 60) = 60`,
    ].join("\n"),
    counts: { "secret-env": 2 },
    secrets: ["npm_a", "b c"],
  },
  {
    name: "JSON mode: a string holding JSON (a probe field kept as text) is redacted inside",
    input: `{"fields":{"vars":"{\\"NPM_TOKEN\\":\\"npm_x\\"}"}}`,
    output: `{"fields":{"vars":"{\\"NPM_TOKEN\\":\\"[redacted:secret-env]\\"}"}}`,
    counts: { "secret-env": 1 },
    options: json,
    secrets: ["npm_x"],
  },
  {
    name: "a secret passed as the argument after its flag, in strace's argv and in a JSON array",
    input: `execve("/usr/bin/curl", ["curl", "--password", "hunter2", "-k", "--api-token", "t0k\\"en", "--keep", "x"], 0x7ffd /* 3 vars */) = 0`,
    output: `execve("/usr/bin/curl", ["curl", "--password", "[redacted:secret-flag]", "-k", "--api-token", "[redacted:secret-flag]", "--keep", "x"], 0x7ffd /* 3 vars */) = 0`,
    counts: { "secret-flag": 2 },
    secrets: ["hunter2", "t0k"],
  },
  {
    name: "JSON mode: flag and argument as two array elements",
    input: `{"argv":["probe","--db-password","s3cret","-v"]}`,
    output: `{"argv":["probe","--db-password","[redacted:secret-flag]","-v"]}`,
    counts: { "secret-flag": 1 },
    options: json,
    secrets: ["s3cret"],
  },
  {
    name: "--strip-host: host names (FQDN and short) and the home path, consistent placeholders",
    input: `uname: build-7.corp.example.com; cd /home/ana/src && ls /home/anabel; host build-7 ok; BUILD-7`,
    output: `uname: [host-1]; cd [home-1]/src && ls /home/anabel; host [host-2] ok; [host-2]`,
    counts: { hostname: 3, "home-path": 1 },
    options: { format: "text", hosts: ["build-7.corp.example.com", "build-7"], homes: ["/home/ana"] },
    secrets: ["build-7", "/home/ana/"],
  },
];

describe("redactText", () => {
  it.each(ROWS)("$name", ({ input, output, counts, options, secrets }) => {
    const r = redactText(input, options ?? text);
    expect(r.text).toBe(output);
    expect(r.counts).toEqual(counts);
    for (const s of secrets ?? []) expect(r.text).not.toContain(s);
  });

  it.each(ROWS)("is idempotent: $name", ({ input, options }) => {
    const once = redactText(input, options ?? text);
    const twice = redactText(once.text, options ?? text);
    expect(twice.text).toBe(once.text);
    expect(twice.counts).toEqual({});
  });

  it("keeps JSON valid", () => {
    const doc = JSON.stringify({ a: `"GH_TOKEN=${GH}" \\x01`, b: [`DB_PASSWORD=a"b\\c`], c: { secretKey: "v" } }, null, 1);
    const r = redactText(doc, json);
    expect(JSON.parse(r.text)).toEqual({ a: `"GH_TOKEN=[redacted:secret-env]" \\x01`, b: ["DB_PASSWORD=[redacted:secret-env]"], c: { secretKey: "[redacted:secret-env]" } });
  });

  it("changes nothing in text without secrets, byte for byte", () => {
    const plain = `4242 1795647898.849854 rt_sigaction(SIGTERM, {sa_handler=0x46b3a0, sa_mask=~[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x46b4e0}, NULL, 8) = 0 <0.000010>\n`;
    expect(redactText(plain, text)).toEqual({ text: plain, counts: {} });
  });
});
