// Vitest with ormock started once (ormock.mjs) and four workers, each scripting its own ending for
// the same prompt (the *.scripted.mjs files; together.mjs makes them meet first).
export default {
  test: {
    include: ["*.scripted.mjs"],
    globalSetup: ["./ormock.mjs"],
    setupFiles: ["./together.mjs"],
    pool: "forks",
    maxWorkers: 4,
    testTimeout: 60_000,
  },
};
