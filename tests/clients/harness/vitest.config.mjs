// Vitest with ormock started once for the run (ormock.mjs) and four workers in parallel.
export default {
  test: {
    include: ["*.spec.mjs"],
    globalSetup: ["./ormock.mjs"],
    pool: "forks",
    maxWorkers: 4,
    testTimeout: 60_000,
  },
};
