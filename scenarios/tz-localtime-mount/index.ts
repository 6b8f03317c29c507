import { axis, AXIS_DESCRIPTIONS } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { judgeLocaltimeMount, LOCALTIME_MOUNT_CLAIMS } from "./claims.js";

// §2.2: a bind mount onto /etc/localtime whose source is missing. Under --runtime namespace
// the probe is the mounting process (strace records its mount(2)); under --runtime docker
// the engine mounts a -v bind before the program starts, and a missing host path becomes a
// directory it creates: the program shows what the container then sees.

export default defineTzScenario({
  name: "tz-localtime-mount",
  summary: "Bind mount onto /etc/localtime from a present and a missing source: mount(2) errno, what docker makes of it, what Go then reads (T5)",
  help: `tz-localtime-mount, --localtime bind (control) and bind-missing, TZ unset, no zoneinfo:
  namespace  the probe itself bind-mounts the source over a UTC /etc/localtime (strace: mount(2) = errno)
  docker     the engine binds the host path (-v); a missing one it creates as a directory
Each row shows what /etc/localtime was inside, what Go opened and its time.Local; T5 per variant.`,
  claims: [LOCALTIME_MOUNT_CLAIMS.T5],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, ["go"], ["go"]),
    localtime: axis(AXIS_DESCRIPTIONS.localtime, ["bind", "bind-missing"], ["bind", "bind-missing"]),
  },
  target: { zones: [] },
  opens: "tz",
  judge: judgeLocaltimeMount,
});
