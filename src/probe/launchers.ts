import type { RuntimeLaunchers } from "../runtime/index.js";
import { buildProbe } from "./build.js";

/** The runtimes' host programs, built (or found in the cache) on first use. */
export const launchers: RuntimeLaunchers = {
  nsrun: () => buildProbe("nsrun").then((b) => b.path),
};
