import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Variant } from "../../src/evidence/schemas.js";
import type { AxisSpec, TrialTarget } from "../../src/scenario/define.js";
import type { ImageFile } from "../../src/runtime/runtime.js";

// The axes every time-zone and locale scenario draws from. A value is a name; tzTarget()
// turns a variant into the probe's build, environment, image files and flags, one axis
// per block, so one value changes one thing in the container.

const ZONEINFO = "/usr/share/zoneinfo";
/** The zones "zoneinfo=some" copies: the ones the scenarios set, and UTC. */
const SOME_ZONES = ["Asia/Shanghai", "Asia/Tokyo", "UTC"];
/** TZ=":/abs" names a zone file by absolute path, outside every zoneinfo directory Go searches. */
const ABSOLUTE_TZ_FILE = "/opt/zoneinfo/Shanghai";
/** Where Go's own zoneinfo.zip goes for "zoneinfo=zip" (and ZONEINFO points at it). */
const ZIP_PATH = "/zoneinfo.zip";
/** A copy of a zone placed only for the namespace runtime's in-container bind mount. */
const BIND_SOURCE = "/srv/tz/Asia/Shanghai";
const MISSING_BIND_SOURCE = "/srv/tz/Missing/Zone";

export const PROBES = ["go", "go-tzdata", "cgo-glibc", "cgo-musl"] as const;
export const TZ_VALUES: Record<string, string | null> = {
  unset: null,
  empty: "",
  "Asia/Shanghai": "Asia/Shanghai",
  ":Asia/Shanghai": ":Asia/Shanghai",
  ":/abs": `:${ABSOLUTE_TZ_FILE}`,
  "CST-8": "CST-8",
  bogus: "Mars/Olympus",
  UTC: "UTC",
};
export const ZONEINFO_VALUES = ["none", "some", "all", "zip"] as const;
export const LOCALTIME_VALUES = ["absent", "file", "symlink", "dangling", "bind", "bind-missing"] as const;
export const LANG_VALUES: Record<string, string | null> = { unset: null, C: "C", "C.UTF-8": "C.UTF-8", "en_US.UTF-8": "en_US.UTF-8", "zh_CN.UTF-8": "zh_CN.UTF-8" };
export const LOCALES_VALUES = ["none", "C.utf8", "i18n"] as const;
export const LIBS_VALUES = ["all", "without-libc"] as const;
/** Where the TZ value is set: in the container's environment, by the program before any use, or after first use. */
export const TZ_AT_VALUES = ["image", "early", "late"] as const;

export const axis = (description: string, values: readonly string[], defaults: readonly string[]): AxisSpec => ({ description, values, defaults });

export const AXIS_DESCRIPTIONS = {
  probe: "how the probe is built: go (static, pure Go), go-tzdata (with import _ \"time/tzdata\"), cgo-glibc (dynamic, the host's glibc copied in), cgo-musl (static, musl-gcc)",
  tz: "the TZ variable: unset, empty, Asia/Shanghai, :Asia/Shanghai, :/abs (a zone file by absolute path), CST-8 (POSIX rule), bogus (Mars/Olympus), UTC",
  zoneinfo: "zone files in the image: none, some (Asia/Shanghai, Asia/Tokyo, UTC), all (the host's /usr/share/zoneinfo), zip (Go's zoneinfo.zip with ZONEINFO)",
  localtime: "/etc/localtime: absent, file (Asia/Shanghai), symlink (into zoneinfo), dangling (symlink to nothing), bind (bind-mounted Asia/Shanghai over a UTC file), bind-missing (bind from a missing source)",
  lang: "the LANG variable",
  lcAll: "the LC_ALL variable",
  locales: "locale files in the image: none, C.utf8 (/usr/lib/locale/C.utf8), i18n (C.utf8 and /usr/share/i18n/charmaps/UTF-8.gz)",
  libs: "for cgo-glibc: all shared libraries copied in, or without-libc (libc.so.6 left out: the program cannot start)",
  tzAt: "where TZ is set: image (the container's env), early (the program sets it before any use), late (after the first use of time.Local and localtime)",
} as const;

/** What a scenario adds to every trial: which zones LoadLocation is asked for, which paths described. */
export interface TargetOptions {
  zones: string[];
  setlocale?: boolean;
  /** TZ the program sets after the first reports (os.Setenv), to see who notices. */
  setenvTZ?: string;
  /** How long the program waits before the first use of time.Local (a debugger attaches meanwhile), e.g. "1500ms". */
  hold?: string;
}

/** The variant's value of an axis the scenario does not have: the neutral point. */
const get = (v: Variant, name: string, fallback: string): string => (typeof v[name] === "string" ? (v[name] as string) : fallback);

export function tzTarget(v: Variant, opts: TargetOptions): TrialTarget {
  const env: Record<string, string> = {};
  const files: ImageFile[] = [];
  const args = ["-stat", "/etc/localtime", "-zones", opts.zones.join(",")];
  const target: TrialTarget = { args, env, files };

  const probe = get(v, "probe", "go");
  if (probe === "go-tzdata") target.flavour = { tags: ["tzdata"] };
  if (probe === "cgo-glibc") {
    target.flavour = { cgo: { cc: "gcc", static: false } };
    target.libraries = { omit: get(v, "libs", "all") === "without-libc" ? ["libc.so.6"] : [] };
  }
  if (probe === "cgo-musl") target.flavour = { cgo: { cc: "musl-gcc", static: true } };

  const tzName = get(v, "tz", "unset");
  const tz = TZ_VALUES[tzName] ?? null;
  const tzAt = get(v, "tzAt", "image");
  if (tz !== null && tzAt === "image") env.TZ = tz;
  if (tz !== null && tzAt === "early") args.push("-tz-early", tz);
  if (tz !== null && tzAt === "late") args.push("-setenv-tz", tz);
  if (tzName === ":/abs") files.push({ hostPath: join(ZONEINFO, "Asia/Shanghai"), path: ABSOLUTE_TZ_FILE });
  if (opts.setenvTZ !== undefined) args.push("-setenv-tz", opts.setenvTZ);

  const zoneinfo = get(v, "zoneinfo", "none");
  if (zoneinfo === "some") files.push(...SOME_ZONES.map((z) => ({ hostPath: join(ZONEINFO, z), path: join(ZONEINFO, z) })));
  if (zoneinfo === "all") files.push(...allZoneFiles());
  if (zoneinfo === "zip") {
    files.push({ hostPath: goZip(), path: ZIP_PATH });
    env.ZONEINFO = ZIP_PATH;
  }

  const localtime = get(v, "localtime", "absent");
  const shanghai = join(ZONEINFO, "Asia/Shanghai");
  if (localtime === "file") files.push({ hostPath: shanghai, path: "/etc/localtime" });
  if (localtime === "symlink") files.push({ symlink: shanghai, path: "/etc/localtime" });
  if (localtime === "dangling") files.push({ symlink: join(ZONEINFO, "Nowhere/Missing"), path: "/etc/localtime" });
  if (localtime === "bind" || localtime === "bind-missing") {
    const present = localtime === "bind";
    if (v.runtime === "docker") {
      // The engine mounts before the program starts; a missing source it creates as a directory.
      target.mounts = [{ source: present ? { host: shanghai } : { inTrialDir: "missing-localtime" }, path: "/etc/localtime", readOnly: true }];
    } else {
      // The namespace runtime has no mounts of its own: the program is the mounting process,
      // over a UTC file that shows through when the mount fails.
      files.push({ hostPath: join(ZONEINFO, "UTC"), path: "/etc/localtime" });
      if (present) files.push({ hostPath: shanghai, path: BIND_SOURCE });
      args.push("-bind", `${present ? BIND_SOURCE : MISSING_BIND_SOURCE}:/etc/localtime`);
    }
  }

  const lang = LANG_VALUES[get(v, "lang", "unset")] ?? null;
  if (lang !== null) env.LANG = lang;
  const lcAll = LANG_VALUES[get(v, "lcAll", "unset")] ?? null;
  if (lcAll !== null) env.LC_ALL = lcAll;
  const locales = get(v, "locales", "none");
  if (locales !== "none") files.push(...localeFiles("/usr/lib/locale/C.utf8"));
  if (locales === "i18n") files.push({ hostPath: "/usr/share/i18n/charmaps/UTF-8.gz", path: "/usr/share/i18n/charmaps/UTF-8.gz" });
  if (opts.setlocale) args.push("-setlocale");
  if (opts.hold !== undefined) args.push("-hold", opts.hold);
  return target;
}

let allZones: ImageFile[] | undefined;
/** Every zone file under the host's zoneinfo (links copied as files, as COPY would). */
function allZoneFiles(): ImageFile[] {
  if (allZones) return allZones;
  const out: ImageFile[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(ZONEINFO, rel), { withFileTypes: true })) {
      const path = join(rel, e.name);
      // posix/ and right/ are whole second copies (or links to the first); "all" means the zones once.
      if (rel === "" && (e.name === "posix" || e.name === "right")) continue;
      const st = statSync(join(ZONEINFO, path), { throwIfNoEntry: false });
      if (st === undefined) continue;
      if (st.isDirectory()) walk(path);
      else out.push({ hostPath: join(ZONEINFO, path), path: join(ZONEINFO, path) });
    }
  };
  walk("");
  return (allZones = out);
}

/** Every file under a compiled locale's directory (LC_MESSAGES is a directory of its own). */
function localeFiles(dir: string): ImageFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? localeFiles(join(dir, e.name)) : [{ hostPath: join(dir, e.name), path: join(dir, e.name) }]));
}

let zip: string | undefined;
/** $GOROOT/lib/time/zoneinfo.zip of the host's Go (the file ZONEINFO users copy). */
function goZip(): string {
  zip ??= join(execFileSync(process.env.GO ?? "go", ["env", "GOROOT"], { encoding: "utf8", env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` } }).trim(), "lib/time/zoneinfo.zip");
  return zip;
}
