// gdb's printed values (`$1 = {mask = {0, 0, 0}, ref = {0 <repeats 49 times>}, …}`) as JSON:
// structs become objects, arrays arrays (repeats expanded), numbers numbers — except
// integers beyond 2^53, which stay hex/decimal strings so no bit is lost. Pointers that
// gdb names (`0x5dc080 <runtime.g0>`) keep the name; a Go string (`0x4b… "UTC"`) keeps
// its text. Pure and total: a text it cannot read gives {ok: false, reason}.

export type GdbValue = number | string | boolean | null | GdbValue[] | { [field: string]: GdbValue };

export type ValueParse = { ok: true; value: GdbValue } | { ok: false; reason: string };

/** Longest array a `<repeats N times>` may expand to: gdb's own print limit is 200 elements. */
const MAX_ELEMENTS = 100_000;

export function parseGdbValue(text: string): ValueParse {
  const p = new Reader(text.trim());
  try {
    const value = p.value();
    p.skipSpace();
    if (!p.done()) return { ok: false, reason: `unexpected text at ${p.pos}: ${JSON.stringify(p.rest().slice(0, 40))}` };
    return { ok: true, value };
  } catch (err) {
    if (err instanceof ValueSyntax) return { ok: false, reason: err.message };
    throw err;
  }
}

/** An integer as JSON: a number while exact, else the text gdb printed. */
export function integerValue(text: string): number | string {
  const negative = text.startsWith("-");
  const digits = negative ? text.slice(1) : text;
  const big = BigInt(digits);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) return text;
  return negative ? -Number(big) : Number(big);
}

class ValueSyntax extends Error {}

const INTEGER = /^-?(?:0x[0-9a-fA-F]+|\d+)(?!\w|\.\d)/;
const FLOAT = /^-?(?:\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+|inf|nan\(0x[0-9a-f]+\))/;
const SYMBOL = /^<([^<>]*(?:<[^<>]*>[^<>]*)*)>/;
const REPEATS = /^<repeats (\d+) times>/;
const CHAR = /^'(?:[^'\\]|\\[0-7]{1,3}|\\.)+'/;
// `<No data fields>`, `<optimized out>`, `<error: …>`, `<synthetic pointer>`, `<unavailable>`.
const ANGLE_NOTE = /^<[^<>]+>/;
const WORD = /^[A-Za-z_][\w.:/]*(?:\.\.\.)?/;

class Reader {
  pos = 0;
  constructor(private readonly s: string) {}

  done = (): boolean => this.pos >= this.s.length;
  rest = (): string => this.s.slice(this.pos);

  skipSpace(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }

  private eat(re: RegExp): RegExpMatchArray | null {
    const m = this.rest().match(re);
    if (m) this.pos += m[0].length;
    return m;
  }

  private fail(what: string): never {
    throw new ValueSyntax(`${what} at ${this.pos}: ${JSON.stringify(this.rest().slice(0, 40))}`);
  }

  value(): GdbValue {
    this.skipSpace();
    const c = this.s[this.pos];
    if (c === undefined) this.fail("value expected");
    if (c === "{") {
      // `{void (void)} 0x5dd130 <runtime.m0+176>`: a function pointer with its type.
      const typed = this.rest().match(/^\{([^{}=]*\([^{}=]*\))\}\s+/);
      if (typed) {
        this.pos += typed[0].length;
        const target = this.value();
        return { type: typed[1]!, ...(isObject(target) ? target : { address: target }) };
      }
      return this.braces();
    }
    if (c === '"') return this.stringWithRest();
    if (c === "'") {
      const ch = this.eat(CHAR);
      if (!ch) this.fail("character expected");
      return ch[0];
    }
    if (c === "<") {
      const note = this.eat(ANGLE_NOTE);
      if (!note) this.fail("<…> expected");
      return note[0];
    }
    if (c === "@") {
      // A reference: `@0xc000012345: 42`.
      const ref = this.eat(/^@(0x[0-9a-fA-F]+):\s*/);
      if (!ref) this.fail("reference expected");
      return { address: integerValue(ref[1]!), value: this.value() };
    }
    if (c === "(") {
      // A cast prefix: `(runtime.g *) 0xc000002380`.
      const cast = this.eat(/^\(([^()]*(?:\([^()]*\))?[^()]*)\)\s*/);
      if (!cast) this.fail("cast expected");
      const target = this.value();
      return { type: cast[1]!, ...(isObject(target) ? target : { address: target }) };
    }
    const float = this.rest().match(FLOAT);
    const int = this.rest().match(INTEGER);
    if (int && !(float && float[0].length > int[0].length)) {
      this.pos += int[0].length;
      return this.afterInteger(int[0]);
    }
    if (float) {
      this.pos += float[0].length;
      return Number(float[0]);
    }
    const word = this.eat(WORD);
    if (!word) this.fail("value expected");
    if (word[0] === "true") return true;
    if (word[0] === "false") return false;
    return word[0];
  }

  /** What may follow an integer: a symbol (pointer), a string (Go/C string data), a char. */
  private afterInteger(text: string): GdbValue {
    const number = integerValue(text);
    const save = this.pos;
    this.skipSpace();
    const symbol = this.eat(SYMBOL);
    if (symbol && !symbol[1]!.startsWith("repeats ")) {
      const out: { [k: string]: GdbValue } = { address: number, symbol: symbol[1]! };
      const save2 = this.pos;
      this.skipSpace();
      if (this.s[this.pos] === '"') out.string = this.stringWithRest();
      else this.pos = save2;
      return out;
    }
    if (symbol) this.pos = save;
    else if (this.s[this.pos] === '"') return { address: number, string: this.stringWithRest() };
    else if (this.s[this.pos] === "'" && this.eat(CHAR)) return number;
    else this.pos = save;
    return number;
  }

  /** `"abc"`, `"ab", 'x' <repeats 20 times>, "cd"`, `"…"...`: one string. */
  private stringWithRest(): string {
    let out = this.string();
    for (;;) {
      const save = this.pos;
      if (this.eat(/^\.\.\./)) continue;
      const more = this.eat(/^,\s*/);
      if (!more) break;
      if (this.s[this.pos] === '"') {
        out += this.string();
        continue;
      }
      const ch = this.eat(CHAR);
      const rep = ch && this.eat(/^\s*<repeats (\d+) times>/);
      if (ch && rep) {
        out += unescape(ch[0].slice(1, -1)).repeat(Math.min(Number(rep[1]), MAX_ELEMENTS));
        continue;
      }
      this.pos = save;
      break;
    }
    return out;
  }

  private string(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.s.length && this.s[this.pos] !== '"') this.pos += this.s[this.pos] === "\\" ? 2 : 1;
    if (this.pos >= this.s.length) this.fail("unterminated string");
    this.pos++;
    return unescape(this.s.slice(start + 1, this.pos - 1));
  }

  /** `{…}`: a struct when its first item is `name = …` (or `<base> = …`), else an array. */
  private braces(): GdbValue {
    this.pos++;
    this.skipSpace();
    if (this.s[this.pos] === "}") {
      this.pos++;
      return [];
    }
    if (this.eat(/^<No data fields>\s*\}/)) return {};
    const isStruct = /^(?:[A-Za-z_][\w.$]*|<[^<>]*>|\[\d+\])\s+=\s/.test(this.rest());
    return isStruct ? this.struct() : this.array();
  }

  private struct(): { [field: string]: GdbValue } {
    const out: { [field: string]: GdbValue } = {};
    for (;;) {
      this.skipSpace();
      const name = this.eat(/^([A-Za-z_][\w.$]*|<[^<>]*>|\[\d+\])\s+=\s*/);
      if (!name) this.fail("field name expected");
      out[name[1]!] = this.value();
      if (this.endOfList()) return out;
    }
  }

  private array(): GdbValue[] {
    const out: GdbValue[] = [];
    for (;;) {
      const item = this.value();
      this.skipSpace();
      const rep = this.eat(REPEATS);
      const times = rep ? Number(rep[1]) : 1;
      if (out.length + times > MAX_ELEMENTS) this.fail(`array longer than ${MAX_ELEMENTS} elements`);
      for (let i = 0; i < times; i++) out.push(item);
      // gdb's `print elements` limit ends an array with `...`.
      this.eat(/^\.\.\./);
      if (this.endOfList()) return out;
    }
  }

  private endOfList(): boolean {
    this.skipSpace();
    if (this.s[this.pos] === ",") {
      this.pos++;
      return false;
    }
    if (this.s[this.pos] === "}") {
      this.pos++;
      return true;
    }
    this.fail("',' or '}' expected");
  }
}

const isObject = (v: GdbValue): v is { [field: string]: GdbValue } => typeof v === "object" && v !== null && !Array.isArray(v);

const ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", a: "\x07", b: "\b", f: "\f", v: "\v", e: "\x1b", "\\": "\\", '"': '"', "'": "'" };

function unescape(s: string): string {
  return s.replace(/\\([0-7]{1,3}|.)/g, (_, e: string) => (/^[0-7]/.test(e) ? String.fromCharCode(parseInt(e, 8)) : (ESCAPES[e] ?? e)));
}
