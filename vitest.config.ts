import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Integration tests share one Docker engine and the host's PID space; running them
    // concurrently would make timing measurements (the product) meaningless.
    fileParallelism: false,
    testTimeout: 120_000,
    // CI also keeps a machine-readable result, from which .ci/run prints its closing line.
    reporters: process.env.CI === "true" ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
    hookTimeout: 120_000,
  },
});
