import { z } from "zod";
import { TrialRequest } from "../../src/evidence/schemas.js";

/** One docker-stop-timeout trial: a request in flight, then `docker stop -t stopTimeoutS`. */
export const StopRequest = TrialRequest.and(
  z.object({
    stopTimeoutS: z.number().int().nonnegative(),
    /** How long the probe's /slow handler takes: the graceful Shutdown waits for it. */
    handlerMs: z.number().int().positive(),
  }),
);
export type StopRequest = z.infer<typeof StopRequest>;
