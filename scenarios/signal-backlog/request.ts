import { z } from "zod";
import { TrialRequest } from "../../src/evidence/schemas.js";

/** One signal-backlog trial: `count` signals of one kind, back to back (burst) or at a steady rate. */
export const BacklogRequest = TrialRequest.and(
  z.object({
    signal: z.enum(["SIGUSR1", "SIGTERM"]),
    /** "burst": every kill(2) back to back; otherwise signals per second. */
    load: z.union([z.literal("burst"), z.number().int().positive()]),
    count: z.number().int().positive(),
    /** µs after the exec of the first send: after the probe's Notify, which start-up on a loaded host can delay. */
    startUs: z.number().int().nonnegative(),
  }),
);
export type BacklogRequest = z.infer<typeof BacklogRequest>;
