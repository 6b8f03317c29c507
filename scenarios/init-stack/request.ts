import { z } from "zod";
import { TrialRequest } from "../../src/evidence/schemas.js";

/** One init-stack trial: SIGUSR1 in flight in the Go program, SIGCHLD to PID 1 meanwhile. */
export const InitStackRequest = TrialRequest.and(z.object({ checkpoint: z.literal("sighandler"), /** Where gdb stops the program (a function; the condition sig == SIGUSR1 is added). */ breakpoint: z.string().optional() }));
export type InitStackRequest = z.infer<typeof InitStackRequest>;
