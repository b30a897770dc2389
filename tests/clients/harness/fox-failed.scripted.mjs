// One test, one ending: this test's jobs for "a red fox" fail, whatever other tests script for
// the same prompt on the same server at the same time.
import { afterEach, beforeEach, expect, test } from "vitest";
import { OpenRouter } from "@openrouter/sdk";

import { addRules, ormockBaseURL, resetTest, withTestId } from "./ormock.mjs";

let testId;

beforeEach(async ({ task }) => {
  testId = `${process.env.VITEST_POOL_ID}-${task.name}`;
  await addRules(testId, `
    [[rule]]
    name = "content policy"
    match = { prompt = "red fox" }
    timeline = [{ status = "in_progress", polls = 1 }, { status = "failed", error = "content policy" }]
  `);
});

afterEach(() => resetTest(testId));

test("my poller reports a failed job with its reason", async () => {
  const client = new OpenRouter({
    apiKey: "sk-or-anything",
    serverURL: ormockBaseURL(),
    httpClient: withTestId(testId),
    retryConfig: { strategy: "none" },
  });
  const videos = client.videoGeneration;
  const job = await videos.generate({ videoGenerationRequest: { model: "google/veo-3.1", prompt: "a red fox" } });
  expect((await videos.getGeneration({ jobId: job.id })).status).toBe("in_progress");
  const ended = await videos.getGeneration({ jobId: job.id });
  expect([ended.status, ended.error]).toEqual(["failed", "content policy"]);
});
