import { axis, AXIS_DESCRIPTIONS, LOCALTIME_VALUES, PROBES, TZ_VALUES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { readLocalLoc } from "./checkpoints.js";
import { GDB_SNAPSHOT_CLAIMS, judgeGdbSnapshot } from "./claims.js";

// §2.4: what gdb can read of Go's time zone. The probe holds before its first use of
// time.Local; gdb stops it just before and just after and prints time.localLoc.

export default defineTzScenario({
  name: "tz-gdb-snapshot",
  summary: "gdb reads time.localLoc before and after the first use of time.Local and compares it with what the program reports (T6)",
  help: `tz-gdb-snapshot attaches gdb while the tz probe holds (1.5 s) before its first use of time.Local,
stops at main.checkpoint before and after that use and prints 'time.localLoc', and asks gdb whether
runtime.time.now (the seed's breakpoint) exists. T6 on the symbol, T6.lazy on the two snapshots.`,
  claims: [GDB_SNAPSHOT_CLAIMS.T6, GDB_SNAPSHOT_CLAIMS["T6.lazy"]],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, PROBES, ["go"]),
    tz: axis(AXIS_DESCRIPTIONS.tz, Object.keys(TZ_VALUES), ["Asia/Shanghai", "unset"]),
    localtime: axis(AXIS_DESCRIPTIONS.localtime, LOCALTIME_VALUES, ["file"]),
    zoneinfo: axis(AXIS_DESCRIPTIONS.zoneinfo, ["some", "none"], ["some"]),
  },
  target: { zones: [], hold: "1500ms" },
  opens: "tz",
  observers: { supported: ["gdb"], defaultSets: [["gdb"]] },
  afterSends: readLocalLoc,
  judge: judgeGdbSnapshot,
});
