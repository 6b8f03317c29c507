// Redaction of captured text before a bundle leaves the machine. Pure: text in, text and
// per-rule counts out; no I/O. Values are replaced, never logged: the counts say what was
// found, the placeholder says which rule replaced it.
//
// Captures quote text in two ways this must stay safe under:
// - strace prints strings as "…" with C escapes (\" \\ \n \t \xNN \NNN); an escape pair is
//   consumed whole, so a value never ends inside one and a closing quote is never eaten;
// - JSON (.json, .jsonl) string literals are decoded first, redacted as text, and re-encoded
//   only when they changed, so JSON stays valid and strace strings inside it are seen at
//   their own quoting level.

export const REDACTION_RULES = [
  "pem-private-key",
  "authorization-header",
  "cookie-header",
  "url-credentials",
  "secret-env",
  "secret-flag",
  "aws-access-key",
  "github-token",
  "jwt",
  "hostname",
  "home-path",
] as const;
export type RedactionRule = (typeof REDACTION_RULES)[number];
export type RedactionCounts = Partial<Record<RedactionRule, number>>;

export interface RedactOptions {
  /** "json" for .json/.jsonl files (literal-aware), "text" for everything else. */
  format: "text" | "json";
  /** `--strip-host`: host names to replace by [host-N] (N: position in this list). */
  hosts?: readonly string[];
  /** `--strip-host`: home directories to replace by [home-N]. */
  homes?: readonly string[];
}

export interface Redacted {
  text: string;
  counts: RedactionCounts;
}

export const placeholder = (rule: RedactionRule): string => `[redacted:${rule}]`;

/** Names of environment variables (and JSON keys) whose values are treated as secrets. */
export const SECRET_NAME = /token|secret|passw(?:or)?d|key|credential/i;

// A token starts a "word" when the character before it is not part of one, or is the last
// character of an strace escape (\n, \t, \0, \x1b …): "\nghp_…" holds a token after a newline.
const WORD_START = String.raw`(?<=^|[^A-Za-z0-9_]|\\[nrtvfab]|\\[0-7]{1,3}|\\x[0-9a-fA-F]{2})`;
const WORD_END = String.raw`(?![A-Za-z0-9_])`;

// A header value runs to the end of its line: a real CR/LF, strace's "\r"/"\n" escapes, or
// the closing quote of the strace string it sits in. Other escape pairs are part of it.
const HEADER_VALUE = String.raw`(?:\\[^rn]|[^"\\\r\n])+`;

interface TextRule {
  rule: RedactionRule;
  pattern: RegExp;
  /** The match's replacement; returning the match unchanged counts nothing. */
  replace: (match: string, ...groups: string[]) => string;
}

const TEXT_RULES: TextRule[] = [
  {
    // Strace truncates long strings (-s 256): a key whose END line was cut off is redacted
    // up to the end of its string, or of the text.
    rule: "pem-private-key",
    pattern: /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?:\\.|[^"\\])*?(?:-----END \1PRIVATE KEY-----|(?="|$))/g,
    replace: () => placeholder("pem-private-key"),
  },
  {
    rule: "authorization-header",
    pattern: new RegExp(`${WORD_START}((?:proxy-)?authorization[ \\t]*:[ \\t]*)(${HEADER_VALUE})`, "gi"),
    replace: (_m, name) => `${name}${placeholder("authorization-header")}`,
  },
  {
    rule: "cookie-header",
    pattern: new RegExp(`${WORD_START}((?:set-)?cookie[ \\t]*:[ \\t]*)(${HEADER_VALUE})`, "gi"),
    replace: (_m, name) => `${name}${placeholder("cookie-header")}`,
  },
  {
    // RFC 3986 userinfo cannot hold a raw / ? # @, so the password ends at the first of them.
    rule: "url-credentials",
    pattern: new RegExp(`${WORD_START}([a-z][a-z0-9+.-]*://(?:\\\\.|[^\\s:/?#@"'\\\\])+:)((?:\\\\.|[^\\s/?#@"'\\\\])*)@`, "gi"),
    replace: (_m, head, password) => (password === "" ? `${head}@` : `${head}${placeholder("url-credentials")}@`),
  },
  {
    rule: "aws-access-key",
    pattern: new RegExp(`${WORD_START}(?:AKIA|ASIA)[0-9A-Z]{16}${WORD_END}`, "g"),
    replace: () => placeholder("aws-access-key"),
  },
  {
    rule: "github-token",
    pattern: new RegExp(`${WORD_START}(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})${WORD_END}`, "g"),
    replace: () => placeholder("github-token"),
  },
  {
    // Header and payload are base64url JSON objects, so both start with "eyJ" ('{"').
    rule: "jwt",
    pattern: new RegExp(`${WORD_START}eyJ[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*(?![A-Za-z0-9_-])`, "g"),
    replace: () => placeholder("jwt"),
  },
];

/** Replaces what every rule finds in `text`; see the file comment for the quoting rules. */
export function redactText(text: string, options: RedactOptions): Redacted {
  const counts: RedactionCounts = {};
  const hostRules = makeHostRules(options);
  const needles = [...(options.hosts ?? []), ...(options.homes ?? [])].map((n) => n.toLowerCase());
  const plain = (s: string, wholeString: boolean): string =>
    MAY_MATCH.test(s) || (needles.length > 0 && needles.some((n) => s.toLowerCase().includes(n))) ? redactPlain(s, wholeString, hostRules, counts) : s;
  const out = options.format === "json" ? redactJsonText(text, plain, counts) : plain(text, false);
  return { text: out, counts };
}

/** Adds `b`'s counts into `a`. */
export function addCounts(a: RedactionCounts, b: RedactionCounts): RedactionCounts {
  for (const [rule, n] of Object.entries(b) as [RedactionRule, number][]) a[rule] = (a[rule] ?? 0) + n;
  return a;
}

const bump = (counts: RedactionCounts, rule: RedactionRule): void => {
  counts[rule] = (counts[rule] ?? 0) + 1;
};

// Every rule needs one of these to match; most strings in evidence (record kinds,
// syscall names, numbers) have none, and skipping them makes redaction ~3x faster.
const MAY_MATCH = /[=:@"]|AKIA|ASIA|gh[pousr]_|github_pat_|eyJ|-----BEGIN/;

function redactPlain(text: string, wholeString: boolean, hostRules: TextRule[], counts: RedactionCounts): string {
  let out = redactJsonPairs(redactSecretEnv(text, wholeString, counts), counts);
  for (const { rule, pattern, replace } of [...TEXT_RULES, ...hostRules]) {
    out = out.replace(pattern, (match: string, ...args: unknown[]) => {
      // replace() passes the captures, then the match's offset (a number), then the input.
      const captures = args.slice(0, args.findIndex((a) => typeof a === "number")) as string[];
      const replaced = replace(match, ...captures);
      if (replaced !== match) bump(counts, rule);
      return replaced;
    });
  }
  return out;
}

const ENV_NAME = new RegExp(`${WORD_START}([A-Za-z_][A-Za-z0-9_]*)=`, "g");

/**
 * `NAME=value` where NAME looks secret. Where the value ends depends on what opened it:
 * a quote right before NAME (strace's env array `["GH_TOKEN=…", …]`, a shell's 'K=v')
 * closes it; a decoded JSON string that starts with NAME= is all value; `NAME="v"` or
 * `NAME='v'` keeps its quotes; a bare value ends at whitespace or a shell separator.
 */
function redactSecretEnv(text: string, wholeString: boolean, counts: RedactionCounts): string {
  let out = "";
  let copied = 0;
  ENV_NAME.lastIndex = 0;
  for (let m = ENV_NAME.exec(text); m !== null; m = ENV_NAME.exec(text)) {
    if (!SECRET_NAME.test(m[1]!)) continue;
    const start = m.index + m[0].length;
    const opener = text[m.index - 1];
    let valueStart = start;
    let end: number;
    if (opener === '"' || opener === "'") end = scanQuoted(text, start, opener);
    else if (wholeString && m.index === 0) end = text.length;
    else if (text[start] === '"' || text[start] === "'") {
      valueStart = start + 1;
      end = scanQuoted(text, valueStart, text[start]!);
    } else end = scanBare(text, start);
    const value = text.slice(valueStart, end);
    ENV_NAME.lastIndex = Math.max(end, start);
    if (value === "" || value === placeholder("secret-env")) continue;
    out += text.slice(copied, valueStart) + placeholder("secret-env");
    copied = end;
    bump(counts, "secret-env");
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Index of the closing `quote` (or the text's end), stepping over escape pairs. */
function scanQuoted(text: string, from: number, quote: string): number {
  let i = from;
  while (i < text.length && text[i] !== quote) i += text[i] === "\\" && quote === '"' ? 2 : 1;
  return Math.min(i, text.length);
}

/** End of an unquoted value: whitespace, a quote, a shell separator, or an escaped CR/LF/TAB. */
function scanBare(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "\\") {
      if (/[rnt]/.test(text[i + 1] ?? "")) break;
      i += 2;
      continue;
    }
    if (/[\s"';&|,]/.test(c)) break;
    i++;
  }
  return Math.min(i, text.length);
}

// "KEY": "value" inside text: JSON a program printed (stderr, a decoded JSON string), or the
// same JSON inside an strace string, where its quotes read \" and its own escapes \\\" and
// \\\\. The value ends at the quote that closes it at that level.
const JSON_PAIR = /"([A-Za-z_][A-Za-z0-9_.-]*)"(\s*:\s*)"((?:\\.|[^"\\])*)"/g;
const STRACED_JSON_PAIR = /\\"([A-Za-z_][A-Za-z0-9_.-]*)\\"(\s*:\s*)\\"((?:\\\\\\"|\\\\\\\\|\\[^"\\]|[^"\\])*?)\\"/g;

// A command line's secret given as the argument after its flag: strace's argv array
// `["curl", "--password", "hunter2"]` (the `--password=…` form is a NAME=value).
const FLAG_LITERAL = /"(-{1,2}[A-Za-z0-9_-]+)"/g;
const ARG_AFTER_FLAG = /(\s*,\s*)"((?:\\.|[^"\\])*)"/y;

const isSecretFlag = (flag: string): boolean => /^-{1,2}[A-Za-z0-9_-]+$/.test(flag) && SECRET_NAME.test(flag);

function redactFlagArguments(text: string, counts: RedactionCounts): string {
  let out = "";
  let copied = 0;
  FLAG_LITERAL.lastIndex = 0;
  for (let m = FLAG_LITERAL.exec(text); m !== null; m = FLAG_LITERAL.exec(text)) {
    if (!isSecretFlag(m[1]!)) continue;
    const end = m.index + m[0].length;
    ARG_AFTER_FLAG.lastIndex = end;
    const arg = ARG_AFTER_FLAG.exec(text);
    if (arg === null || arg[2] === "" || arg[2] === placeholder("secret-flag")) continue;
    out += `${text.slice(copied, end)}${arg[1]}"${placeholder("secret-flag")}"`;
    copied = end + arg[0].length;
    FLAG_LITERAL.lastIndex = copied;
    bump(counts, "secret-flag");
  }
  return copied === 0 ? text : out + text.slice(copied);
}

function redactJsonPairs(text: string, counts: RedactionCounts): string {
  let out = redactFlagArguments(text, counts);
  for (const [pattern, quote] of [
    [JSON_PAIR, '"'],
    [STRACED_JSON_PAIR, '\\"'],
  ] as const) {
    out = out.replace(pattern, (match: string, key: string, colon: string, value: string) => {
      const rule = secretKeyRule(key);
      if (rule === null || value === "" || value === placeholder(rule)) return match;
      bump(counts, rule);
      return `${quote}${key}${quote}${colon}${quote}${placeholder(rule)}${quote}`;
    });
  }
  return out;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function makeHostRules(options: RedactOptions): TextRule[] {
  const rules: TextRule[] = [];
  // Longest first, so a FQDN is replaced whole before its short name is.
  const hosts = (options.hosts ?? []).map((h, i) => ({ h, i })).filter(({ h }) => h.length >= 2 && h.toLowerCase() !== "localhost");
  for (const { h, i } of hosts.sort((a, b) => b.h.length - a.h.length)) {
    rules.push({
      rule: "hostname",
      pattern: new RegExp(`${WORD_START.replace("_]", "_.-]")}${escapeRegExp(h)}(?![A-Za-z0-9_-])`, "gi"),
      replace: () => `[host-${i + 1}]`,
    });
  }
  const homes = (options.homes ?? []).map((h, i) => ({ h: h.replace(/\/+$/, ""), i })).filter(({ h }) => /^\/[^/]/.test(h));
  for (const { h, i } of homes.sort((a, b) => b.h.length - a.h.length)) {
    rules.push({
      rule: "home-path",
      pattern: new RegExp(`(?<![A-Za-z0-9._/-])${escapeRegExp(h)}(?![A-Za-z0-9._-])`, "g"),
      replace: () => `[home-${i + 1}]`,
    });
  }
  return rules;
}

const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
/** The punctuation after a literal: ":" makes it a key, "," an array element. */
const NEXT_PUNCT = /\s*([:,])/y;

/**
 * JSON text (one document or JSON lines, valid or not): text between string literals is
 * redacted as plain text; each literal is decoded, redacted, and re-encoded if it changed.
 * A string value whose key looks secret ("GITHUB_TOKEN": "…", "Authorization": "…") is
 * replaced whole.
 */
function redactJsonText(text: string, plain: (s: string, wholeString: boolean) => string, counts: RedactionCounts): string {
  let out = "";
  let last = 0;
  let secretKey: RedactionRule | null = null;
  JSON_STRING.lastIndex = 0;
  for (let m = JSON_STRING.exec(text); m !== null; m = JSON_STRING.exec(text)) {
    const gap = text.slice(last, m.index);
    const isValue = secretKey !== null && (secretKey === "secret-flag" ? /^\s*,\s*$/ : /^\s*:\s*$/).test(gap);
    out += plain(gap, false);
    const decoded = decodeJsonString(m[0]);
    if (isValue && decoded !== null && decoded !== placeholder(secretKey!) && decoded !== "") {
      out += JSON.stringify(placeholder(secretKey!));
      bump(counts, secretKey!);
      secretKey = null;
    } else {
      NEXT_PUNCT.lastIndex = JSON_STRING.lastIndex;
      const next = NEXT_PUNCT.exec(text)?.[1];
      secretKey = decoded === null ? null : next === ":" ? secretKeyRule(decoded) : next === "," && isSecretFlag(decoded) ? "secret-flag" : null;
      if (decoded === null) out += plain(m[0], false);
      else {
        const redacted = plain(decoded, true);
        out += redacted === decoded ? m[0] : JSON.stringify(redacted);
      }
    }
    last = JSON_STRING.lastIndex;
  }
  return out + plain(text.slice(last), false);
}

function secretKeyRule(key: string): RedactionRule | null {
  if (/^(?:proxy-)?authorization$/i.test(key)) return "authorization-header";
  if (/^(?:set-)?cookie$/i.test(key)) return "cookie-header";
  return SECRET_NAME.test(key) ? "secret-env" : null;
}

function decodeJsonString(literal: string): string | null {
  if (!literal.includes("\\")) return literal.slice(1, -1);
  try {
    return JSON.parse(literal) as string;
  } catch {
    return null;
  }
}
