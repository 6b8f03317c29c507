import { axis, AXIS_DESCRIPTIONS, PROBES, TZ_AT_VALUES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { CGO_CACHE_CLAIMS, judgeCgoCache } from "./claims.js";

// §2.3: TZ=Asia/Shanghai, then the program sets TZ=UTC; what localtime_r, localtime and
// tzset make of it on glibc and musl, and whether Go's own time.Local notices.

export default defineTzScenario({
  name: "tz-cgo-cache",
  summary: "os.Setenv(\"TZ\") in a cgo program: glibc vs musl localtime_r/localtime before and after tzset, and Go's time.Local (T4)",
  help: `tz-cgo-cache starts the tz probe with TZ=Asia/Shanghai (--tz-at image: in the container's env;
early: set by the program before any use), reports time.Local and libc's localtime_r / localtime,
then os.Setenv("TZ", "UTC") and reports them again, then tzset() and again. T4 is judged on the
cgo probes, T4.go (time.Local is fixed at first use) on every probe.`,
  claims: [CGO_CACHE_CLAIMS.T4, CGO_CACHE_CLAIMS["T4.go"]],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, PROBES, ["cgo-glibc", "cgo-musl", "go"]),
    tz: axis(AXIS_DESCRIPTIONS.tz, ["Asia/Shanghai"], ["Asia/Shanghai"]),
    tzAt: axis(AXIS_DESCRIPTIONS.tzAt, TZ_AT_VALUES.filter((v) => v !== "late"), ["image", "early"]),
    zoneinfo: axis(AXIS_DESCRIPTIONS.zoneinfo, ["some", "all"], ["some"]),
  },
  target: { zones: [], setenvTZ: "UTC" },
  opens: "tz",
  judge: judgeCgoCache,
});
