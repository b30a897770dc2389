// TanStack AI's openRouterVideo adapter (@tanstack/ai-openrouter), unchanged, through every rule of
// scenarios/failure-modes.toml and scenarios/image-to-video.toml served by ormock.
// ORMOCK_FAILURE_MODES and ORMOCK_IMAGE_TO_VIDEO hold the base URLs (ending in /api/v1).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";

import { generateVideo, getVideoJobStatus } from "@tanstack/ai";
import { createOpenRouterVideo } from "@tanstack/ai-openrouter";

// --- snippet: tanstack (README "Use ormock with TanStack AI") ---
function videoAdapter(model, baseURL) {
  return createOpenRouterVideo(model, "sk-or-anything", {
    baseURL, // e.g. "http://127.0.0.1:8000/api/v1"; `serverURL` here is ignored and hits the real service
    retryConfig: { strategy: "none" }, // the SDK retries 5xx for up to an hour otherwise
  });
}
// --- end snippet ---

const FAILURES = process.env.ORMOCK_FAILURE_MODES;
const IMAGES = process.env.ORMOCK_IMAGE_TO_VIDEO;
const seedance = videoAdapter("bytedance/seedance-2.0", FAILURES);

async function untilSettled(adapter, jobId) {
  const seen = [];
  for (let i = 0; i < 5000; i++) {
    const status = await getVideoJobStatus({ adapter, jobId });
    seen.push(status.status);
    if (status.status === "completed" || status.status === "failed") return { status, seen };
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  throw new Error(`job ${jobId} never settled: ${seen.slice(-3)}`);
}

function assertVideo(status) {
  assert.equal(status.status, "completed");
  assert.ok(status.url.startsWith("data:video/mp4;base64,"), status.url.slice(0, 40));
  const bytes = Buffer.from(status.url.slice("data:video/mp4;base64,".length), "base64");
  assert.equal(bytes.subarray(4, 8).toString(), "ftyp");
}

const image = (role) => ({
  type: "image",
  source: { type: "url", value: "https://example.com/frame.png" },
  metadata: { role },
});

describe("failure-modes.toml with TanStack AI", () => {
  test("text to video: processing, then a data:video/mp4 result with usage.cost", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "a calm sea", duration: 5 });
    const { status, seen } = await untilSettled(seedance, jobId);
    assert.deepEqual(seen, ["processing", "processing", "completed"]);
    assertVideo(status);
    assert.equal(status.usage.cost, 0.756);
  });

  for (const [rule, prompt, error] of [
    ["failed", "please fail", "Provider returned error"],
    ["cancelled", "cancel it", "Job was cancelled"],
    ["expired", "let it expire", "Job exceeded maximum time to live"],
  ]) {
    test(`${rule}: mapped to failed, with the error text`, async () => {
      const { jobId } = await generateVideo({ adapter: seedance, prompt });
      const { status } = await untilSettled(seedance, jobId);
      assert.equal(status.status, "failed");
      assert.equal(status.error, error);
    });
  }

  test("relative polling_url and unsigned_urls: the adapter completes and downloads", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "relative links" });
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("stuck in pending: pending for a long while, then the video", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "stuck" });
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("400s: the adapter checks durations itself; ormock's 400 reaches the caller for the rest", async () => {
    // TanStack validates `duration` against its own model table before any request is made.
    await assert.rejects(generateVideo({ adapter: seedance, prompt: "x", duration: 20 }), /does not support duration 20s/);
    // Parameters it passes through unchecked get the service's 400, which surfaces verbatim.
    await assert.rejects(
      generateVideo({ adapter: seedance, prompt: "x", modelOptions: { resolution: "2K" } }),
      /resolution "2K" is not supported by bytedance\/seedance-2.0; supported: 480p, 720p, 1080p, 4K/,
    );
  });

  test("401 on submit", async () => {
    await assert.rejects(generateVideo({ adapter: seedance, prompt: "bad key" }), /User not found/);
  });

  test("401 on poll surfaces as an error", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "revoked" });
    assert.equal((await getVideoJobStatus({ adapter: seedance, jobId })).status, "processing");
    await assert.rejects(getVideoJobStatus({ adapter: seedance, jobId }), /User not found/);
  });

  test("401 on download: the job is reported failed with the download error", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "no download" });
    const { status } = await untilSettled(seedance, jobId);
    assert.equal(status.status, "failed");
    assert.match(status.error, /failed to download video content .*User not found/);
  });

  test("402 out of credits", async () => {
    await assert.rejects(generateVideo({ adapter: seedance, prompt: "no credits" }), /Insufficient credits/);
  });

  test("429 once, then accepted", async () => {
    await assert.rejects(generateVideo({ adapter: seedance, prompt: "rate limit" }), /Rate limit exceeded/);
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "rate limit" });
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("500 then recovery", async () => {
    await assert.rejects(generateVideo({ adapter: seedance, prompt: "server error" }));
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "server error" });
    await getVideoJobStatus({ adapter: seedance, jobId });
    await assert.rejects(getVideoJobStatus({ adapter: seedance, jobId }));
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("503 while polling", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "unavailable" });
    await getVideoJobStatus({ adapter: seedance, jobId });
    await assert.rejects(getVideoJobStatus({ adapter: seedance, jobId }));
  });

  test("502 on download, then the next look succeeds", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "bad gateway" });
    const first = await untilSettled(seedance, jobId);
    assert.equal(first.status.status, "failed");
    assert.match(first.status.error, /failed to download video content/);
    assertVideo(await getVideoJobStatus({ adapter: seedance, jobId }));
  });

  test("output gone: reported failed", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "gone" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const { status } = await untilSettled(seedance, jobId);
    assert.equal(status.status, "failed");
    assert.match(status.error, /no longer available/);
  });

  test("truncated download, then whole", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "truncated" });
    assert.equal((await untilSettled(seedance, jobId)).status.status, "failed");
    assertVideo(await getVideoJobStatus({ adapter: seedance, jobId }));
  });

  test("slow download", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "trickle" });
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("connection reset on poll", async () => {
    // In its own process: besides rejecting, the SDK under TanStack leaves an unhandled promise
    // rejection ("terminated") behind, which would fail this whole test file.
    const run = spawnSync(process.execPath, [new URL("./tanstack-reset.mjs", import.meta.url).pathname], {
      env: process.env, encoding: "utf8", timeout: 60000,
    });
    const report = JSON.parse(run.stdout.trim().split("\n").at(-1));
    assert.equal(report.first, "processing");
    assert.match(report.rejected, /terminated|fetch failed|socket/i);
    assert.equal(report.after.at(-1), "completed");
    assert.ok(report.stray.every((reason) => reason.includes("terminated")), report.stray.join("; "));
  });

  test("sluggish polls", async () => {
    const { jobId } = await generateVideo({ adapter: seedance, prompt: "sluggish" });
    assertVideo((await untilSettled(seedance, jobId)).status);
  });

  test("a poll that hangs until the client gives up", async () => {
    const impatient = createOpenRouterVideo("bytedance/seedance-2.0", "sk-or-anything", {
      baseURL: FAILURES, retryConfig: { strategy: "none" }, timeoutMs: 300,
    });
    const { jobId } = await generateVideo({ adapter: impatient, prompt: "hang" });
    await assert.rejects(getVideoJobStatus({ adapter: impatient, jobId }));
    assertVideo((await untilSettled(seedance, jobId)).status);
  });
});

describe("image-to-video.toml with TanStack AI", () => {
  test("first and last frame (start_frame and end_frame roles)", async () => {
    const adapter = videoAdapter("google/veo-3.1", IMAGES);
    const prompt = [{ type: "text", content: "dusk" }, image("start_frame"), image("end_frame")];
    const { jobId } = await generateVideo({ adapter, prompt });
    const { status, seen } = await untilSettled(adapter, jobId);
    assert.deepEqual(seen, ["pending", "processing", "processing", "processing", "completed"]);
    assertVideo(status);
  });

  test("first frame only", async () => {
    const adapter = videoAdapter("alibaba/wan-2.6", IMAGES);
    const { jobId } = await generateVideo({ adapter, prompt: [{ type: "text", content: "waves" }, image("start_frame")], duration: 5 });
    const { status } = await untilSettled(adapter, jobId);
    assertVideo(status);
    assert.equal(status.usage.cost, 0.5);
  });

  test("reference images", async () => {
    const adapter = videoAdapter("bytedance/seedance-2.0", IMAGES);
    const { jobId } = await generateVideo({ adapter, prompt: [{ type: "text", content: "the cat dances" }, image("reference")] });
    assertVideo((await untilSettled(adapter, jobId)).status);
  });

  test("unusable reference", async () => {
    const adapter = videoAdapter("x-ai/grok-imagine-video", IMAGES);
    const prompt = [{ type: "text", content: "a broken reference" }, image("reference")];
    const { jobId } = await generateVideo({ adapter, prompt });
    const { status } = await untilSettled(adapter, jobId);
    assert.equal(status.status, "failed");
    assert.equal(status.error, "Provider returned error: could not fetch input reference");
  });

  test("text only", async () => {
    const adapter = videoAdapter("runway/gen-4.5", IMAGES);
    const { jobId } = await generateVideo({ adapter, prompt: "a paper boat" });
    assert.deepEqual((await untilSettled(adapter, jobId)).seen, ["processing", "completed"]);
  });
});

describe("first-poll.toml with TanStack AI (its end-to-end fetcher mode)", () => {
  const FIRST_POLL = process.env.ORMOCK_FIRST_POLL;

  test("submit, poll exactly once, get the finished video", async () => {
    const adapter = videoAdapter("bytedance/seedance-2.0", FIRST_POLL);
    const { jobId } = await generateVideo({ adapter, prompt: "a guitar being played in a store" });
    assertVideo(await getVideoJobStatus({ adapter, jobId }));
  });

  test("a ~790 KB PNG sent as a first-frame data URL (~1.05 MB of JSON) is accepted", async () => {
    const adapter = videoAdapter("bytedance/seedance-2.0", FIRST_POLL);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(789_815)]);
    const frame = {
      type: "image",
      source: { type: "data", value: png.toString("base64"), mimeType: "image/png" },
      metadata: { role: "start_frame" },
    };
    const prompt = [{ type: "text", content: "animate this product photo" }, frame];
    const { jobId } = await generateVideo({ adapter, prompt });
    assertVideo(await getVideoJobStatus({ adapter, jobId }));
  });
});
