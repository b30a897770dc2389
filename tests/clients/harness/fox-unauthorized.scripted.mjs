// The same prompt, scripted to answer one poll with 401 mid-job and then go on.
import { afterEach, beforeEach, expect, test } from "vitest";
import { OpenRouter } from "@openrouter/sdk";
import * as errors from "@openrouter/sdk/models/errors";

import { addRules, ormockBaseURL, resetTest, withTestId } from "./ormock.mjs";

let testId;

beforeEach(async ({ task }) => {
  testId = `${process.env.VITEST_POOL_ID}-${task.name}`;
  await addRules(testId, `
    [[rule]]
    name = "key revoked mid-job"
    match = { prompt = "red fox" }
    timeline = [
      { status = "in_progress", polls = 1 },
      { respond = 401, message = "User not found." },
      { status = "completed" },
    ]
  `);
});

afterEach(() => resetTest(testId));

test("my poller survives a 401 mid-job", async () => {
  const client = new OpenRouter({
    apiKey: "sk-or-anything",
    serverURL: ormockBaseURL(),
    httpClient: withTestId(testId),
    retryConfig: { strategy: "none" },
  });
  const videos = client.videoGeneration;
  const job = await videos.generate({ videoGenerationRequest: { model: "google/veo-3.1", prompt: "a red fox" } });
  expect((await videos.getGeneration({ jobId: job.id })).status).toBe("in_progress");
  await expect(videos.getGeneration({ jobId: job.id })).rejects.toBeInstanceOf(errors.UnauthorizedResponseError);
  expect((await videos.getGeneration({ jobId: job.id })).status).toBe("completed");
});
