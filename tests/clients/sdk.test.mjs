// The official TypeScript SDK (@openrouter/sdk), unchanged, through every rule of
// scenarios/failure-modes.toml and scenarios/image-to-video.toml served by ormock.
// ORMOCK_FAILURE_MODES and ORMOCK_IMAGE_TO_VIDEO hold the base URLs (ending in /api/v1).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { OpenRouter } from "@openrouter/sdk";
import * as errors from "@openrouter/sdk/models/errors";

// --- snippet: typescript-sdk (README "Use ormock with the TypeScript SDK") ---
function clientFor(baseURL) {
  return new OpenRouter({
    apiKey: "sk-or-anything",
    serverURL: baseURL, // e.g. "http://127.0.0.1:8000/api/v1"
    retryConfig: { strategy: "none" }, // the SDK retries 5xx for up to an hour otherwise
  });
}
// --- end snippet ---

const failures = clientFor(process.env.ORMOCK_FAILURE_MODES);
const images = clientFor(process.env.ORMOCK_IMAGE_TO_VIDEO);
const MODEL = "bytedance/seedance-2.0";
const TERMINAL = new Set(["completed", "failed", "cancelled", "expired"]);
const frame = (frameType) => ({ type: "image_url", imageUrl: { url: "https://example.com/f.png" }, frameType });

async function submit(client, request) {
  return client.videoGeneration.generate({ videoGenerationRequest: { model: MODEL, ...request } });
}

async function pollToEnd(client, jobId) {
  const seen = [];
  for (let i = 0; i < 5000; i++) {
    const job = await client.videoGeneration.getGeneration({ jobId });
    seen.push(job.status);
    if (TERMINAL.has(job.status)) return { job, seen };
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`job ${jobId} never ended: ${seen.slice(-3)}`);
}

async function download(client, jobId, index = 0) {
  const stream = await client.videoGeneration.getVideoContent({ jobId, index });
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const isMp4 = (bytes) => new TextDecoder().decode(bytes.slice(4, 8)) === "ftyp";

describe("failure-modes.toml with @openrouter/sdk", () => {
  test("text to video: the default rule completes and downloads", async () => {
    const job = await submit(failures, { prompt: "a calm sea", duration: 5 });
    assert.equal(job.status, "pending");
    const { job: done, seen } = await pollToEnd(failures, job.id);
    assert.deepEqual(seen, ["in_progress", "in_progress", "completed"]);
    assert.equal(done.usage.cost, 0.756);
    assert.equal(done.unsignedUrls.length, 1);
    assert.ok(isMp4(await download(failures, job.id)));
  });

  for (const [rule, prompt, status, error] of [
    ["failed", "please fail", "failed", "Provider returned error"],
    ["cancelled", "cancel it", "cancelled", "Job was cancelled"],
    ["expired", "let it expire", "expired", "Job exceeded maximum time to live"],
    ["stuck in pending", "stuck", "completed", undefined],
  ]) {
    test(`${rule}: ends ${status}`, async () => {
      const job = await submit(failures, { prompt });
      const { job: end } = await pollToEnd(failures, job.id);
      assert.equal(end.status, status);
      assert.equal(end.error, error);
    });
  }

  test("relative polling_url and unsigned_urls: the SDK completes and downloads", async () => {
    const job = await submit(failures, { prompt: "relative links" });
    assert.equal(job.pollingUrl, `/api/v1/videos/${job.id}`);
    const { job: done } = await pollToEnd(failures, job.id);
    assert.equal(done.status, "completed");
    assert.deepEqual(done.unsignedUrls, [`/api/v1/videos/${job.id}/content?index=0`]);
    assert.ok(isMp4(await download(failures, job.id)));
  });

  test("400 for an out-of-set duration", async () => {
    await assert.rejects(submit(failures, { prompt: "x", duration: 20 }), (err) => {
      assert.ok(err instanceof errors.BadRequestResponseError);
      assert.equal(err.error.message, "duration 20 is not supported by bytedance/seedance-2.0; supported: 4-15");
      return true;
    });
  });

  test("401 on submit", async () => {
    await assert.rejects(submit(failures, { prompt: "bad key" }), errors.UnauthorizedResponseError);
  });

  test("401 on poll, then the job goes on", async () => {
    const job = await submit(failures, { prompt: "revoked" });
    assert.equal((await failures.videoGeneration.getGeneration({ jobId: job.id })).status, "in_progress");
    await assert.rejects(failures.videoGeneration.getGeneration({ jobId: job.id }), errors.UnauthorizedResponseError);
    assert.equal((await failures.videoGeneration.getGeneration({ jobId: job.id })).status, "completed");
  });

  test("401 on download", async () => {
    const job = await submit(failures, { prompt: "no download" });
    await pollToEnd(failures, job.id);
    await assert.rejects(download(failures, job.id), errors.UnauthorizedResponseError);
  });

  test("402 out of credits", async () => {
    await assert.rejects(submit(failures, { prompt: "no credits" }), errors.PaymentRequiredResponseError);
  });

  test("429 rate limited once, with Retry-After", async () => {
    await assert.rejects(submit(failures, { prompt: "rate limit" }), (err) => {
      assert.ok(err instanceof errors.TooManyRequestsResponseError);
      // 30 scenario seconds at --speed 1000000 are 0.03 ms of the client's time: whole seconds
      // rounded up, and retry-after-ms, which this SDK reads first
      assert.equal(err.headers.get("retry-after"), "1");
      assert.equal(err.headers.get("retry-after-ms"), "1");
      // and the rate-limit figures OpenRouter's 429s carry: none left, a reset in the client's time
      assert.equal(err.headers.get("x-ratelimit-remaining"), "0");
      assert.ok(Math.abs(Number(err.headers.get("x-ratelimit-reset")) - Date.now()) < 60_000);
      return true;
    });
    assert.equal((await submit(failures, { prompt: "rate limit" })).status, "pending");
  });

  test("500 then recovery", async () => {
    await assert.rejects(submit(failures, { prompt: "server error" }), errors.InternalServerResponseError);
    const job = await submit(failures, { prompt: "server error" });
    assert.equal((await failures.videoGeneration.getGeneration({ jobId: job.id })).status, "in_progress");
    await assert.rejects(failures.videoGeneration.getGeneration({ jobId: job.id }), errors.InternalServerResponseError);
    assert.equal((await failures.videoGeneration.getGeneration({ jobId: job.id })).status, "completed");
  });

  test("503 while polling", async () => {
    const job = await submit(failures, { prompt: "unavailable" });
    await failures.videoGeneration.getGeneration({ jobId: job.id });
    await assert.rejects(failures.videoGeneration.getGeneration({ jobId: job.id }), (err) => {
      assert.equal(err.statusCode, 503);
      return true;
    });
  });

  test("502 on download, then it works", async () => {
    const job = await submit(failures, { prompt: "bad gateway" });
    await pollToEnd(failures, job.id);
    await assert.rejects(download(failures, job.id), errors.BadGatewayResponseError);
    assert.ok(isMp4(await download(failures, job.id)));
  });

  test("output gone", async () => {
    const job = await submit(failures, { prompt: "gone" });
    await pollToEnd(failures, job.id);
    await new Promise((resolve) => setTimeout(resolve, 20)); // 10 min at --speed 1000000 is 0.6 ms
    await assert.rejects(download(failures, job.id), errors.GoneResponseError);
  });

  test("truncated download: the stream breaks, the next download is whole", async () => {
    const job = await submit(failures, { prompt: "truncated" });
    await pollToEnd(failures, job.id);
    await assert.rejects(download(failures, job.id));
    assert.ok(isMp4(await download(failures, job.id)));
  });

  test("slow download arrives whole", async () => {
    const job = await submit(failures, { prompt: "trickle" });
    await pollToEnd(failures, job.id);
    assert.ok(isMp4(await download(failures, job.id)));
  });

  test("connection reset on poll", async () => {
    const job = await submit(failures, { prompt: "reset" });
    await failures.videoGeneration.getGeneration({ jobId: job.id });
    await assert.rejects(failures.videoGeneration.getGeneration({ jobId: job.id }));
    const { job: end } = await pollToEnd(failures, job.id);
    assert.equal(end.status, "completed");
  });

  test("sluggish polls still answer", async () => {
    const job = await submit(failures, { prompt: "sluggish" });
    assert.deepEqual((await pollToEnd(failures, job.id)).seen, ["in_progress", "in_progress", "completed"]);
  });

  test("a poll that hangs until the client gives up", async () => {
    const job = await submit(failures, { prompt: "hang" });
    await assert.rejects(failures.videoGeneration.getGeneration({ jobId: job.id }, { timeoutMs: 300 }));
    assert.equal((await pollToEnd(failures, job.id)).job.status, "completed");
  });

  test("the models listing parses", async () => {
    const listing = await failures.videoGeneration.listVideosModels();
    assert.ok(listing.data.some((model) => model.id === MODEL));
  });
});

describe("image-to-video.toml with @openrouter/sdk", () => {
  test("first and last frame", async () => {
    const job = await images.videoGeneration.generate({
      videoGenerationRequest: { model: "google/veo-3.1", prompt: "dusk", frameImages: [frame("first_frame"), frame("last_frame")] },
    });
    assert.deepEqual((await pollToEnd(images, job.id)).seen, ["pending", "in_progress", "in_progress", "in_progress", "completed"]);
  });

  test("first frame only, and a last frame refused", async () => {
    const job = await images.videoGeneration.generate({
      videoGenerationRequest: { model: "alibaba/wan-2.6", prompt: "waves", duration: 5, frameImages: [frame("first_frame")] },
    });
    const { job: done } = await pollToEnd(images, job.id);
    assert.equal(done.usage.cost, 0.5);
    await assert.rejects(
      images.videoGeneration.generate({
        videoGenerationRequest: { model: "alibaba/wan-2.6", prompt: "waves", frameImages: [frame("last_frame")] },
      }),
      errors.BadRequestResponseError,
    );
  });

  test("reference images and clips: two outputs", async () => {
    const job = await images.videoGeneration.generate({
      videoGenerationRequest: {
        model: MODEL,
        prompt: "the cat dances",
        inputReferences: [
          { type: "image_url", imageUrl: { url: "https://example.com/cat.png" } },
          { type: "video_url", videoUrl: { url: "https://example.com/motion.mp4" } },
        ],
      },
    });
    const { job: done } = await pollToEnd(images, job.id);
    assert.equal(done.unsignedUrls.length, 2);
    assert.ok(isMp4(await download(images, job.id, 1)));
  });

  test("unusable reference fails", async () => {
    const job = await images.videoGeneration.generate({
      videoGenerationRequest: {
        model: "x-ai/grok-imagine-video",
        prompt: "a broken reference",
        inputReferences: [{ type: "image_url", imageUrl: { url: "https://example.com/x.png" } }],
      },
    });
    const { job: end } = await pollToEnd(images, job.id);
    assert.equal(end.error, "Provider returned error: could not fetch input reference");
  });

  test("text only", async () => {
    const job = await images.videoGeneration.generate({ videoGenerationRequest: { model: "runway/gen-4.5", prompt: "a boat" } });
    assert.deepEqual((await pollToEnd(images, job.id)).seen, ["in_progress", "completed"]);
  });
});
