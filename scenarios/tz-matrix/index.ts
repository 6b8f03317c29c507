import { axis, AXIS_DESCRIPTIONS, LIBS_VALUES, LOCALTIME_VALUES, PROBES, TZ_VALUES, ZONEINFO_VALUES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { readZone, watchZone } from "../tz-common/zone-gdb.js";
import { judgeTzMatrix, TZ_MATRIX_CLAIMS } from "./claims.js";

// The seed's §2.1 table, measured: which of TZ and /etc/localtime each kind of program
// takes its zone from, and which files it opened to get there.

export default defineTzScenario({
  name: "tz-matrix",
  summary: "TZ × /etc/localtime × pure Go / cgo+glibc / cgo+musl: where each program takes its zone from (T1, T2)",
  help: `tz-matrix runs the tz probe once per variant under strace and prints one row per trial:
  Local     time.Local at its first use (name, abbreviation, offset)
  Load      time.LoadLocation of Asia/Shanghai and America/New_York: ok or ERR
  libc      (cgo) what localtime_r and localtime say
  opened    the zone files it opened and who opened them: [go] (no O_CLOEXEC) or [libc] (O_CLOEXEC)
and a verdict per variant on T1 (Go's order: TZ, /etc/localtime, UTC) and T2 (/etc/localtime is
ignored by Go except on musl). --tz, --localtime, --zoneinfo and --probe pick the rows.
With --binary or --image, your program, given each --tz as its TZ (unset: the image's own
ENV TZ, if any; the other axes build the probe's image and do not apply): one trial under
strace for its opens, one under gdb, which reads the zone it uses from 'time.localLoc' at
its exit (or after 3 s, then ends it) — where the binary has DWARF; a stripped or non-Go
program's verdicts are inconclusive, saying why.`,
  claims: [TZ_MATRIX_CLAIMS.T1, TZ_MATRIX_CLAIMS.T2],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, PROBES, ["go", "cgo-glibc", "cgo-musl"]),
    tz: { ...axis(AXIS_DESCRIPTIONS.tz, Object.keys(TZ_VALUES), ["unset", "Asia/Shanghai"]), targets: ["binary", "image"] },
    zoneinfo: axis(AXIS_DESCRIPTIONS.zoneinfo, ZONEINFO_VALUES, ["some"]),
    localtime: axis(AXIS_DESCRIPTIONS.localtime, LOCALTIME_VALUES, ["absent", "file"]),
    libs: axis(AXIS_DESCRIPTIONS.libs, LIBS_VALUES, ["all"]),
  },
  target: { zones: ["Asia/Shanghai", "America/New_York"] },
  opens: "tz",
  targets: ["binary", "image"],
  observers: { supported: ["strace", "gdb"], defaultSets: [["strace"]], targetSets: [["strace"], ["gdb"]] },
  beforeRelease: watchZone,
  afterSends: readZone,
  judge: judgeTzMatrix,
});
