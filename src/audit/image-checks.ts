// The image checks: PID 1, the program (through the binary checks), time zone, locale,
// container config, and the seed's chapter 1 for an image that holds a Go toolchain.
// Pure: facts in, findings out, in topic order.

import { judgeBinary } from "./binary-checks.js";
import { hasFunction } from "./binary-facts.js";
import { finding, ok, shellCommand, type AuditCheck } from "./check.js";
import { startsWithExec } from "./entrypoint.js";
import type { ImageFacts } from "./image-facts.js";
import { judgeToolchain } from "./toolchain-checks.js";

const INIT_FIX = 'run it under an init: docker run --init, or ENTRYPOINT ["/tini", "--", "<program>"] with tini-static copied in';
// Docker's default when neither the image nor `docker run --stop-timeout` sets one.
const DEFAULT_STOP_TIMEOUT_S = 10;

export function judgeImage(facts: ImageFacts): AuditCheck[] {
  const runTarget = `--image ${shellCommand([facts.reference])}`;
  const program = facts.program;
  const isGo = program?.facts?.kind === "elf" && program.facts.go?.kind === "go";
  const embedsTzdata = program?.facts ? hasFunction(program.facts, "tzdata") === true : false;
  const zoneinfo = facts.zoneinfoDirs.length > 0 || facts.zoneinfoEnv?.present === true;
  return [
    judgeForm(facts, runTarget),
    judgeInit(facts, runTarget, isGo),
    ...judgeProgram(facts, runTarget, zoneinfo),
    judgeZoneinfo(facts, zoneinfo, embedsTzdata, runTarget),
    judgeLocal(facts, embedsTzdata, runTarget),
    judgeLocale(facts, isGo && program?.facts ? hasFunction(program.facts, "cgo") === false : false),
    judgeUser(facts),
    judgeHealthcheck(facts),
    judgeStop(facts, isGo, runTarget),
    ...(isGo ? [judgeMemory(facts)] : []),
    ...(facts.toolchain ? judgeToolchain(facts.toolchain, facts.config.architecture) : []),
  ];
}

function judgeForm(facts: ImageFacts, runTarget: string): AuditCheck {
  const { pid1, shell } = facts;
  const argv = JSON.stringify(pid1.argv);
  const prove = `forensics run sigterm-race ${runTarget}`;
  if (pid1.form === "none") return finding("pid1.form", "fail", "the image has neither ENTRYPOINT nor CMD", 'ENTRYPOINT ["/path/to/program"] (exec form)');
  if (pid1.form === "exec") return ok("pid1.form", `exec form: ${argv}; PID 1 is ${pid1.argv[0]} itself`);
  const command = pid1.shell!.command;
  const execForm = `use the exec form: ENTRYPOINT ${JSON.stringify(["/path/to/program"])} (or start the command with \`exec\`)`;
  if (startsWithExec(command)) return ok("pid1.form", `shell form ${argv}, but the command starts with exec: the shell replaces itself with the program`, prove);
  if (shell?.found === false) return finding("pid1.form", "fail", `shell form ${argv}, and the image has no ${pid1.shell!.path}: the container cannot start`, execForm);
  if (shell?.kind === "busybox" || shell?.kind === "bash") {
    // Measured on BusyBox 1.35 and bash 5.2: `sh -c` execs the last simple command of the
    // string (also after `;` or `&&`); dash 0.5.12 does not. bash keeps itself for a redirection.
    return finding(
      "pid1.form",
      "warn",
      `shell form ${argv}: ${pid1.shell!.path} is ${shell.kind === "busybox" ? "BusyBox" : "GNU bash"}, which execs the last command of -c, so the program should end up PID 1 — but a trap, a background job or a later command keeps the shell there, and the shell neither handles nor forwards SIGTERM`,
      execForm,
      prove,
    );
  }
  return finding(
    "pid1.form",
    "fail",
    `shell form ${argv}: ${pid1.shell!.path} (not BusyBox or bash) stays PID 1; as PID 1 without a handler it ignores docker stop's SIGTERM and does not forward it, so the program is SIGKILLed after the stop timeout`,
    execForm,
    prove,
  );
}

function judgeInit(facts: ImageFacts, runTarget: string, isGo: boolean): AuditCheck {
  const { pid1, init } = facts;
  const prove = `forensics run sigterm-race ${runTarget}`;
  if (pid1.init !== null) {
    if (init?.found === null) return finding("pid1.init", "fail", `PID 1 is ${pid1.init.path} (${pid1.init.name}), which the image does not hold: the container cannot start`, `copy ${pid1.init.name} into the image at ${pid1.init.path} (a static build: tini-static)`);
    return ok("pid1.init", `PID 1 is ${pid1.init.name} (${pid1.init.path}): it forwards SIGTERM to ${pid1.program ?? "its child"} and reaps orphans`, prove);
  }
  const unused = facts.unusedInits.length > 0 ? `; the image holds ${facts.unusedInits.join(", ")} but ENTRYPOINT does not use it` : "";
  if (facts.program === null) return finding("pid1.init", "unknown", `no command, so nothing to judge as PID 1 (see pid1.form)${unused}`, null);
  if (facts.program.facts === null) {
    return finding("pid1.init", "unknown", `no init in ENTRYPOINT, and the program is not readable in the image (see binary.found)${unused}`, INIT_FIX, prove);
  }
  const notify = facts.program.facts?.kind === "elf" ? hasFunction(facts.program.facts, "notify") : null;
  if (isGo && notify) {
    return ok(
      "pid1.init",
      `no init: the Go program is PID 1 and links os/signal.Notify, so it can catch SIGTERM (a SIGTERM before the runtime installs its handlers is dropped: claims S1, S2); nothing reaps orphaned children${unused}`,
      prove,
    );
  }
  const what = isGo
    ? "the Go program, without os/signal.Notify, is PID 1: SIGTERM takes the runtime's default path, whose re-raise with SIG_DFL the kernel drops for PID 1 before the runtime falls back to exiting (claim S7), and one sent before the runtime installs its handlers is lost (claims S1, S2)"
    : "a program that is not Go is PID 1: the kernel drops a signal whose action is SIG_DFL for PID 1 (claim S1), so SIGTERM does nothing unless the program installed a handler";
  return finding(
    "pid1.init",
    "warn",
    `no init: ${what}; nothing reaps orphaned children${unused}`,
    INIT_FIX,
    prove,
  );
}

function judgeProgram(facts: ImageFacts, runTarget: string, zoneinfo: boolean): AuditCheck[] {
  const program = facts.program;
  if (program === null) {
    const why = facts.pid1.form === "none" ? "no ENTRYPOINT or CMD names a program" : `cannot tell which program ${JSON.stringify(facts.pid1.argv)} runs`;
    return [finding("binary.found", "unknown", why, null)];
  }
  if (program.found === null) {
    return [finding("binary.found", "fail", `${program.command} is not in the image (looked where the container's PATH and working directory lead): the container cannot start`, "COPY the program into the image at the path ENTRYPOINT names")];
  }
  const at = program.found.linkTarget ? `${program.found.path} → ${program.found.linkTarget}` : program.found.path;
  if (program.facts === null) return [finding("binary.found", "unknown", `${at} is in the image but is not a regular file`, null)];
  return [
    ok("binary.found", `the program is ${at} in the image (read through the Engine API, not run)`),
    ...judgeBinary(program.facts, {
      where: program.found.path,
      runTarget,
      image: { architecture: facts.config.architecture, interpreterPresent: program.interpreterPresent, zoneinfo },
    }),
  ];
}

function judgeZoneinfo(facts: ImageFacts, zoneinfo: boolean, embedded: boolean, runTarget: string): AuditCheck {
  const prove = `forensics run tz-matrix ${runTarget}`;
  const env = facts.zoneinfoEnv ? `; ZONEINFO=${facts.zoneinfoEnv.path} ${facts.zoneinfoEnv.present ? "exists" : "is missing"}` : "";
  if (zoneinfo) return ok("tz.zoneinfo", `zoneinfo in the image: ${facts.zoneinfoDirs.join(", ") || "(none of the standard dirs)"}${env}`, prove);
  const none = `no zoneinfo in the image (none of /usr/share/zoneinfo, /usr/share/lib/zoneinfo, /usr/lib/locale/TZ, /etc/zoneinfo)${env}`;
  if (embedded) return ok("tz.zoneinfo", `${none}, but the program embeds time/tzdata`, prove);
  const fix = 'import _ "time/tzdata" in the program, or COPY /usr/share/zoneinfo into the image (or ZONEINFO=/zoneinfo.zip with Go\'s lib/time/zoneinfo.zip)';
  if (facts.tzZone !== null) {
    return finding("tz.zoneinfo", "fail", `${none}, and TZ=${facts.config.env.TZ}: Go cannot load that zone and silently runs in UTC (claim T3)`, fix, prove);
  }
  return finding("tz.zoneinfo", "warn", `${none}: time.LoadLocation fails for every zone name (claim T3)`, fix, prove);
}

function judgeLocal(facts: ImageFacts, embedded: boolean, runTarget: string): AuditCheck {
  const prove = `forensics run tz-matrix ${runTarget}`;
  const tz = facts.config.env.TZ;
  const localtime = facts.localtime
    ? `/etc/localtime ${facts.localtime.linkTarget ? `→ ${facts.localtime.linkTarget}${facts.localtimeDangling ? " (dangling)" : ""}` : "is a file"}`
    : "no /etc/localtime";
  if (tz !== undefined) {
    const zone = facts.tzZone;
    if (zone === null) return ok("tz.local", `TZ=${JSON.stringify(tz)} in the image env: time.Local is UTC (${localtime}, not read while TZ is set)`, prove);
    if (zone.found !== null) return ok("tz.local", `TZ=${tz} in the image env; the zone file is ${zone.found}`, prove);
    // loadLocation tries $ZONEINFO's zip before the dirs and the embedded copy after them (time/zoneinfo_read.go).
    if (facts.zoneinfoEnv?.present && !zone.name.startsWith("/")) return ok("tz.local", `TZ=${tz} in the image env; no zone file, Go reads it from ZONEINFO=${facts.zoneinfoEnv.path} if that zip holds it`, prove);
    if (embedded && !zone.name.startsWith("/")) return ok("tz.local", `TZ=${tz} in the image env; no zone file, the embedded time/tzdata provides it`, prove);
    return finding(
      "tz.local",
      "fail",
      `TZ=${tz} in the image env, but no ${zone.name.startsWith("/") ? zone.name : `zone file ${zone.name} in the zoneinfo dirs`}: Go falls back to UTC without an error`,
      `ship the zone: COPY /usr/share/zoneinfo/${zone.name.replace(/^\//, "")} or import _ "time/tzdata"; or fix TZ's spelling`,
      prove,
    );
  }
  if (facts.localtimeDangling) {
    return finding("tz.local", "warn", `TZ unset and ${localtime}: Go falls back to UTC`, "point /etc/localtime at a zone file the image holds, or set ENV TZ=<Area/City>", prove);
  }
  return ok("tz.local", `TZ unset: time.Local comes from /etc/localtime, else UTC; ${localtime}`, prove);
}

function judgeLocale(facts: ImageFacts, pureGo: boolean): AuditCheck {
  const env = `LANG=${facts.config.env.LANG ?? "(unset)"}, LC_ALL=${facts.config.env.LC_ALL ?? "(unset)"}`;
  const locale = facts.locale;
  if (locale === null) return ok("locale.lang", `${env}: C, POSIX or C.UTF-8, which need no locale files (C.UTF-8: glibc 2.35+, musl)`);
  if (locale.found !== null) return ok("locale.lang", `${env}; ${locale.found} is in the image`);
  if (pureGo) return ok("locale.lang", `${env}; no locale files for ${locale.name} in the image, and the program is pure Go, which does not call setlocale`);
  return finding(
    "locale.lang",
    "warn",
    `${env}, but neither /usr/lib/locale/${locale.name} nor a locale-archive is in the image: glibc's setlocale("") fails and C code stays in the C locale`,
    `install the locale (locale-gen ${locale.name}) or use LANG=C.UTF-8`,
  );
}

function judgeUser(facts: ImageFacts): AuditCheck {
  const user = facts.config.user;
  const name = user.split(":")[0];
  if (name === "" || name === "root" || name === "0") {
    return finding("config.user", "warn", user === "" ? "no USER: the program runs as root (uid 0)" : `USER ${user}: the program runs as root`, "USER 65532:65532 (or a named non-root user the image defines)");
  }
  return ok("config.user", `USER ${user}: not root`);
}

function judgeHealthcheck(facts: ImageFacts): AuditCheck {
  const test = facts.config.healthcheck;
  if (test === null || test[0] === "NONE") {
    return finding("config.healthcheck", "warn", test === null ? "no HEALTHCHECK" : "HEALTHCHECK NONE", 'HEALTHCHECK CMD ["/program", "-healthcheck"] (a probe built into the program works in FROM scratch images)');
  }
  const command = facts.healthcheckCommand;
  const shown = JSON.stringify(test);
  if (command !== null && command.found === null) {
    return finding("config.healthcheck", "fail", `HEALTHCHECK ${shown} needs ${command.command}, which the image does not hold: every check fails and the container turns unhealthy`, "use the exec form with a program the image holds: HEALTHCHECK CMD [\"/program\", \"-healthcheck\"]");
  }
  return ok("config.healthcheck", `HEALTHCHECK ${shown}${command ? `; ${command.found!.path} is in the image` : ""}`);
}

function judgeStop(facts: ImageFacts, isGo: boolean, runTarget: string): AuditCheck {
  const { stopSignal, stopTimeout } = facts.config;
  const signal = stopSignal ?? "SIGTERM";
  const timeout = stopTimeout !== null ? `stop timeout ${stopTimeout} s (image)` : `stop timeout: the engine's default ${DEFAULT_STOP_TIMEOUT_S} s (docker stop -t / docker run --stop-timeout)`;
  const evidence = `${stopSignal ? `STOPSIGNAL ${stopSignal}` : "no STOPSIGNAL: SIGTERM"}; ${timeout}`;
  const normalized = signal.toUpperCase().replace(/^(SIG)?/, "SIG");
  const prove = normalized === "SIGTERM" ? `forensics run sigterm-race ${runTarget}` : null;
  if (normalized === "SIGKILL" || normalized === "SIG9") {
    return finding("config.stop", "warn", `${evidence}: the program never gets to shut down`, "STOPSIGNAL SIGTERM, and handle it in the program", prove);
  }
  if (isGo && (normalized === "SIGQUIT" || normalized === "SIG3")) {
    return finding("config.stop", "warn", `${evidence}: unless the program Notifies SIGQUIT, Go's runtime answers it with a goroutine dump and exit status 2`, "STOPSIGNAL SIGTERM, or signal.Notify SIGQUIT in the program", prove);
  }
  return ok("config.stop", evidence, prove);
}

function judgeMemory(facts: ImageFacts): AuditCheck {
  const { GOMEMLIMIT, GOGC } = facts.config.env;
  const gogc = GOGC !== undefined ? `, GOGC=${GOGC}` : "";
  if (GOMEMLIMIT) return ok("config.memory", `GOMEMLIMIT=${GOMEMLIMIT}${gogc} in the image env`);
  return finding(
    "config.memory",
    "warn",
    `no GOMEMLIMIT in the image env${gogc}: Go's GC does not read the container's memory limit, so the heap can grow into the OOM killer`,
    "ENV GOMEMLIMIT=<about 90% of the container's memory limit>, e.g. 460MiB for a 512Mi limit (or set it where the limit is set)",
  );
}
