import { z } from "zod";
import { TrialRequest } from "../../src/evidence/schemas.js";

/** One sigterm-race trial: a single SIGTERM offsetUs after the exec, under one observer set. */
export const SigtermRequest = TrialRequest.and(
  z.object({
    /** µs after the driver saw the exec at which it sends SIGTERM. */
    offsetUs: z.number().int().nonnegative(),
  }),
);
export type SigtermRequest = z.infer<typeof SigtermRequest>;
