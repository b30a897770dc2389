// The same prompt, scripted to refuse the next submit with a 429, once.
import { afterEach, beforeEach, expect, test } from "vitest";
import { OpenRouter } from "@openrouter/sdk";
import * as errors from "@openrouter/sdk/models/errors";

import { addRules, ormockBaseURL, resetTest, withTestId } from "./ormock.mjs";

let testId;

beforeEach(async ({ task }) => {
  testId = `${process.env.VITEST_POOL_ID}-${task.name}`;
  await addRules(testId, {
    name: "busy once",
    uses: 1,
    match: { prompt: "red fox" },
    submit: { respond: 429, retry_after: 2 },
  });
});

afterEach(() => resetTest(testId));

test("my client waits out a 429 on submit", async () => {
  const client = new OpenRouter({
    apiKey: "sk-or-anything",
    serverURL: ormockBaseURL(),
    httpClient: withTestId(testId),
    retryConfig: { strategy: "none" },
  });
  const videos = client.videoGeneration;
  const request = { videoGenerationRequest: { model: "google/veo-3.1", prompt: "a red fox" } };
  const refused = await videos.generate(request).catch((error) => error);
  expect(refused).toBeInstanceOf(errors.TooManyRequestsResponseError);
  expect(refused.headers.get("retry-after")).toBe("2");
  const job = await videos.generate(request); // the rule has used its one submit
  expect(job.status).toBe("pending");
});
