// The Vercel AI SDK with OpenRouter's provider (`ai` + `@openrouter/ai-sdk-provider`), unchanged,
// against ormock: `experimental_generateVideo` with `openrouter.videoModel(...)` submits, polls and,
// with the download function below, downloads. ORMOCK_FAILURE_MODES holds the base URL.
import assert from "node:assert/strict";
import { test } from "node:test";

import { experimental_generateVideo as generateVideo } from "ai";
import { createOpenRouter } from "@openrouter/ai-sdk-provider";

const baseURL = process.env.ORMOCK_FAILURE_MODES;

// --- snippet: vercel (docs/node.md "The Vercel AI SDK") ---
const KEY = process.env.OPENROUTER_API_KEY ?? "sk-or-anything";
const openrouter = createOpenRouter({ apiKey: KEY, baseURL }); // baseURL: e.g. "http://127.0.0.1:8000/api/v1"

// The AI SDK's own downloader sends no API key (and refuses loopback addresses), but the service
// answers `unsigned_urls` only with the key, as ormock does: download them with it.
async function download({ url, abortSignal }) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${KEY}` }, signal: abortSignal });
  if (!response.ok) throw new Error(`downloading ${url} answered ${response.status}`);
  return { data: new Uint8Array(await response.arrayBuffer()), mediaType: response.headers.get("content-type") ?? undefined };
}

async function makeVideo(prompt) {
  const { video, providerMetadata } = await generateVideo({
    model: openrouter.videoModel("bytedance/seedance-2.0", { pollIntervalMs: 100 }),
    prompt,
    download,
    maxRetries: 0, // let a test see the error it expects
  });
  return { bytes: video.uint8Array, cost: providerMetadata.openrouter.cost };
}
// --- end snippet ---

test("a job completes and its video is downloaded with the key", async () => {
  const { bytes, cost } = await makeVideo("a calm sea");
  assert.equal(new TextDecoder().decode(bytes.slice(4, 8)), "ftyp");
  assert.equal(cost, 0.756);
});

test("a failed job rejects with the service's error text", async () => {
  await assert.rejects(makeVideo("please fail"), /Provider returned error/);
});

test("the SDK's default downloader is refused: the key is needed", async () => {
  await assert.rejects(
    generateVideo({ model: openrouter.videoModel("bytedance/seedance-2.0", { pollIntervalMs: 100 }), prompt: "x", maxRetries: 0 }),
  );
});
