// A setup file for scripting.config.mjs: before each test, wait (bounded) until all four workers
// have started, so the four scripted files really run side by side on the one server. Each worker
// adds a rule named after itself under a test id of its own, and counts the rules there.
import { beforeEach, expect } from "vitest";

import { addRules, ormockBaseURL } from "./ormock.mjs";

const WORKERS = 4;
const MEETING = "scripting-workers";

beforeEach(async () => {
  const root = ormockBaseURL().replace(/\/api\/v1$/, "");
  await addRules(MEETING, { name: `worker ${process.env.VITEST_POOL_ID}`, match: { prompt: "never sent" } });
  let here = 0;
  for (let i = 0; i < 400 && here < WORKERS; i++) {
    const rules = await (await fetch(`${root}/__ormock/rules`, { headers: { "X-Test-Id": MEETING } })).json();
    here = rules.data.filter((rule) => rule.source === "runtime").length;
    if (here < WORKERS) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(here).toBe(WORKERS);
});
