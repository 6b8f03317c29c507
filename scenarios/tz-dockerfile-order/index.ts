import { axis, AXIS_DESCRIPTIONS, TZ_AT_VALUES, ZONEINFO_VALUES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { DOCKERFILE_ORDER_CLAIMS, judgeDockerfileOrder } from "./claims.js";

// §2.5: "ENV TZ after COPY makes glibc panic". A FROM-scratch image has no build order, so
// the orders are what a process can tell apart: TZ in its environment from the start, set
// by the program before any zone lookup, or set after the first one. Same image contents
// in every variant; no zoneinfo unless --zoneinfo says so.

export default defineTzScenario({
  name: "tz-dockerfile-order",
  summary: "TZ set at each point (image env, early, late) with no zoneinfo: does glibc (or musl) crash on localtime, what it returns and opens (T7)",
  help: `tz-dockerfile-order: TZ=Asia/Shanghai set at --tz-at image|early|late, --zoneinfo none (and
some as the control), for cgo-glibc and cgo-musl. Each row: what localtime returned, the zone
files the C library tried (ENOENT), and whether the program finished.`,
  claims: [DOCKERFILE_ORDER_CLAIMS.T7],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, ["cgo-glibc", "cgo-musl"], ["cgo-glibc", "cgo-musl"]),
    tz: axis(AXIS_DESCRIPTIONS.tz, ["Asia/Shanghai"], ["Asia/Shanghai"]),
    tzAt: axis(AXIS_DESCRIPTIONS.tzAt, TZ_AT_VALUES, ["image", "early", "late"]),
    zoneinfo: axis(AXIS_DESCRIPTIONS.zoneinfo, ZONEINFO_VALUES, ["none"]),
  },
  target: { zones: [] },
  opens: "tz",
  judge: judgeDockerfileOrder,
});
