import { z } from "zod";
import { TrialRequest } from "../../src/evidence/schemas.js";

/** One docker-stop-timeout trial: a request in flight, then `docker stop -t stopTimeoutS`. */
export const StopRequest = TrialRequest.and(
  z.object({
    stopTimeoutS: z.number().int().nonnegative(),
    /** How long the probe's /slow handler takes: the graceful Shutdown waits for it. Absent for a user's program. */
    handlerMs: z.number().int().positive().optional(),
    /** What a user's program is asked for (its slow path); absent for the probe (/slow?ms=handlerMs). */
    path: z.string().optional(),
    /** The port a user's program listens on, when given; otherwise found from its sockets. */
    port: z.number().int().positive().optional(),
  }),
);
export type StopRequest = z.infer<typeof StopRequest>;
