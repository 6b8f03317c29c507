import { axis, AXIS_DESCRIPTIONS, PROBES, TZ_VALUES, ZONEINFO_VALUES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { judgeMissingZoneinfo, MISSING_ZONEINFO_CLAIMS } from "./claims.js";

// A FROM-scratch image without zone files (§2.5), and the three fixes people reach for:
// which repairs LoadLocation, which repairs time.Local with TZ set, and what TZ unset gives.

export default defineTzScenario({
  name: "tz-missing-zoneinfo",
  summary: "No zoneinfo in the image: LoadLocation, TZ=…, and which fix (time/tzdata, ZONEINFO zip, copying zoneinfo) repairs what (T3)",
  help: `tz-missing-zoneinfo runs the tz probe with /etc/localtime absent, crossing --probe (go,
go-tzdata), --zoneinfo (none, zip, some) and --tz (unset, Asia/Shanghai). Each row shows
time.Local, LoadLocation(Asia/Shanghai) and every zoneinfo source Go tried (ENOENT). The broken
image (no fix) is judged on T3; every other variant on T3.fix: did its fix repair LoadLocation
and, with TZ set, time.Local.`,
  claims: [MISSING_ZONEINFO_CLAIMS.T3, MISSING_ZONEINFO_CLAIMS["T3.fix"]],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, PROBES, ["go", "go-tzdata"]),
    zoneinfo: axis(AXIS_DESCRIPTIONS.zoneinfo, ZONEINFO_VALUES, ["none", "zip", "some"]),
    tz: axis(AXIS_DESCRIPTIONS.tz, Object.keys(TZ_VALUES), ["unset", "Asia/Shanghai"]),
  },
  target: { zones: ["Asia/Shanghai"] },
  opens: "tz",
  judge: judgeMissingZoneinfo,
});
