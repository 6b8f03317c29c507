// The checks on one program binary (a host path, or the program an image's ENTRYPOINT
// names): what it is, how it links, cgo, SIGTERM handling, embedded tzdata, debug info.
// Pure: facts in, findings out; the image checks pass what the image holds beside it.

import { finding, ok, type AuditCheck } from "./check.js";
import { hasFunction, type BinaryFacts } from "./binary-facts.js";

export interface BinaryContext {
  /** How the evidence names the binary: "/srv/app" or "/server in the image". */
  where: string;
  /** The target flags of a scenario run: "--image app:1" or "--binary ./app". */
  runTarget: string;
  /** Present when the binary was taken from an image. */
  image?: {
    architecture: string;
    /** Whether the image holds the binary's PT_INTERP; null for a static binary. */
    interpreterPresent: boolean | null;
    /** Whether the image holds zoneinfo files in one of the places Go looks. */
    zoneinfo: boolean;
  };
}

const NOTIFY_FIX =
  "catch SIGTERM and shut down: ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM); defer stop(); <-ctx.Done(); srv.Shutdown(…)";

export function judgeBinary(facts: BinaryFacts, ctx: BinaryContext): AuditCheck[] {
  if (facts.kind === "not-elf") {
    const what = facts.shebang ? `a script (${facts.shebang}), not an ELF program` : "not an ELF program (no \\x7fELF magic)";
    return [finding("binary.kind", "unknown", `${ctx.where} is ${what}: the binary checks do not apply`, "point ENTRYPOINT at the program itself (exec form), or audit the program's binary by path")];
  }
  const checks = [judgeKind(facts, ctx), judgeLinking(facts, ctx)];
  if (facts.go?.kind === "go") checks.push(judgeCgo(facts), judgeNotify(facts, ctx), judgeTzdata(facts, ctx));
  checks.push(judgeDebug(facts));
  return checks;
}

type Elf = Extract<BinaryFacts, { kind: "elf" }>;

function judgeKind(facts: Elf, ctx: BinaryContext): AuditCheck {
  const elf = `${facts.machine} ELF, ${(facts.size / 1e6).toFixed(1)} MB`;
  if (facts.go === null) return ok("binary.kind", `${ctx.where}: not a Go program (no .go.buildinfo), ${elf}; the Go checks do not apply`);
  if (facts.go.kind === "go-pre-1.18") {
    return finding("binary.kind", "unknown", `${ctx.where}: a Go program built before Go 1.18 (old build info format, not read), ${elf}`, "rebuild with a supported Go release (https://go.dev/doc/devel/release)");
  }
  const { goVersion, path, main, settings } = facts.go;
  const module = main === null ? "no main module" : `main module ${main.path} ${main.version}`;
  const target = settings.GOOS && settings.GOARCH ? `, ${settings.GOOS}/${settings.GOARCH}` : "";
  return ok("binary.kind", `${ctx.where}: Go program built with ${goVersion}, package ${path ?? "?"}, ${module}${target}; ${elf}`);
}

function judgeLinking(facts: Elf, ctx: BinaryContext): AuditCheck {
  const id = "binary.linking";
  if (!facts.executable) return finding(id, "fail", `${ctx.where} is an ELF object that cannot be executed (not an executable or PIE)`, "build a main package: go build -o app .");
  const image = ctx.image;
  if (image && facts.arch !== null && facts.arch !== image.architecture) {
    return finding(id, "fail", `${ctx.where} is for ${facts.arch} (${facts.machine}), the image says ${image.architecture}: exec fails with "exec format error"`, `build for the image's platform: GOOS=linux GOARCH=${image.architecture} go build`);
  }
  if (facts.interpreter === null) return ok(id, `statically linked: no PT_INTERP, runs in a FROM scratch image`);
  const dynamic = `dynamically linked: PT_INTERP ${facts.interpreter}`;
  if (image?.interpreterPresent === false) {
    return finding(id, "fail", `${dynamic}, which the image does not hold: exec fails with ENOENT ("no such file or directory") although the binary is there`, "build statically (CGO_ENABLED=0 go build), or copy the loader and the libraries `ldd` names into the image");
  }
  if (image) return ok(id, `${dynamic}, present in the image (its libraries are not checked)`);
  return finding(id, "warn", `${dynamic}: an image needs that loader and the libraries \`ldd ${ctx.where}\` names; FROM scratch or distroless/static cannot run it`, "build statically: CGO_ENABLED=0 go build");
}

function judgeCgo(facts: Elf): AuditCheck {
  const setting = facts.go?.kind === "go" ? facts.go.settings.CGO_ENABLED : undefined;
  const linked = hasFunction(facts, "cgo");
  const built = setting === undefined ? "the build settings do not say CGO_ENABLED" : `CGO_ENABLED=${setting}`;
  if (linked === true) {
    return finding(
      "binary.cgo",
      "warn",
      `${built} and cgo code is linked in (runtime/cgo's x_cgo_init): time zone and locale may also go through libc, which caches TZ (claim T4) and needs its own files in the image`,
      "build with CGO_ENABLED=0 unless a package really needs C (net and os/user have pure-Go fallbacks)",
    );
  }
  if (linked === null) return finding("binary.cgo", "unknown", `${built}; no Go function table to tell whether cgo code was linked in`, null);
  return ok("binary.cgo", setting === "1" ? `${built}, but no package used cgo: pure Go` : `${built}: pure Go`);
}

function judgeNotify(facts: Elf, ctx: BinaryContext): AuditCheck {
  const prove = `forensics run sigterm-race ${ctx.runTarget}`;
  const linked = hasFunction(facts, "notify");
  if (linked === null) return finding("binary.notify", "unknown", "no Go function table: cannot tell whether os/signal.Notify is linked in", null, prove);
  if (linked) {
    return ok("binary.notify", "os/signal.Notify is linked in (by the program or a dependency): the program can catch SIGTERM; which signals it asks for is only known at run time", prove);
  }
  return finding(
    "binary.notify",
    "warn",
    "os/signal.Notify is not linked in: SIGTERM gets the Go runtime's default action, the process dies at once, deferred code and graceful shutdown never run",
    NOTIFY_FIX,
    prove,
  );
}

function judgeTzdata(facts: Elf, ctx: BinaryContext): AuditCheck {
  if (hasFunction(facts, "tzdata")) return ok("binary.tzdata", "time/tzdata is embedded: LoadLocation and TZ work without zoneinfo files");
  const evidence = "time/tzdata is not embedded: time zones come from zoneinfo files where the program runs";
  if (ctx.image?.zoneinfo) return ok("binary.tzdata", `${evidence}; the image has them`);
  return finding("binary.tzdata", "warn", `${evidence}${ctx.image ? ", and the image has none (see tz.zoneinfo)" : ""}`, 'import _ "time/tzdata" in package main (or build with -tags timetzdata)');
}

function judgeDebug(facts: Elf): AuditCheck {
  if (facts.dwarf) return ok("binary.debug", `DWARF kept${facts.symtab ? " and a symbol table" : ""}: gdb can read the program's runtime state`);
  const symtab = facts.symtab ? "a symbol table but no DWARF" : "neither a symbol table nor DWARF (stripped, e.g. -ldflags=-s -w)";
  return finding(
    "binary.debug",
    "warn",
    `${symtab}: gdb checkpoints (claims S4, S6, T6) cannot read this program's runtime state${facts.functions ? "; Go's function table is still there for tracebacks" : ""}`,
    "keep a build without -ldflags=-s -w for forensics (or ship one beside the stripped release)",
  );
}
