// The same prompt as the other scripted files, scripted to complete for this test only.
import { afterEach, beforeEach, expect, test } from "vitest";
import { OpenRouter } from "@openrouter/sdk";

import { addRules, ormockBaseURL, resetTest, withTestId } from "./ormock.mjs";

let testId;

beforeEach(async ({ task }) => {
  testId = `${process.env.VITEST_POOL_ID}-${task.name}`;
  await addRules(testId, {
    name: "completes",
    match: { prompt: "red fox" },
    timeline: [{ status: "in_progress", polls: 2 }, { status: "completed" }],
  });
});

afterEach(() => resetTest(testId));

test("my poller downloads a finished video", async () => {
  const client = new OpenRouter({
    apiKey: "sk-or-anything",
    serverURL: ormockBaseURL(),
    httpClient: withTestId(testId),
    retryConfig: { strategy: "none" },
  });
  const videos = client.videoGeneration;
  const job = await videos.generate({ videoGenerationRequest: { model: "google/veo-3.1", prompt: "a red fox" } });
  const seen = [];
  for (let i = 0; i < 3; i++) seen.push((await videos.getGeneration({ jobId: job.id })).status);
  expect(seen).toEqual(["in_progress", "in_progress", "completed"]);
  const bytes = new Uint8Array(await new Response(await videos.getVideoContent({ jobId: job.id })).arrayBuffer());
  expect(new TextDecoder().decode(bytes.slice(4, 8))).toBe("ftyp");
});
