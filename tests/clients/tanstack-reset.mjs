// Run by tanstack.test.mjs in its own process: a poll whose connection drops after the headers.
// Prints one JSON line: whether the call rejected, what it said, and any stray unhandled rejections.
import { generateVideo, getVideoJobStatus } from "@tanstack/ai";
import { createOpenRouterVideo } from "@tanstack/ai-openrouter";

const stray = [];
process.on("unhandledRejection", (reason) => stray.push(String(reason)));
const adapter = createOpenRouterVideo("bytedance/seedance-2.0", "sk-or-anything", {
  baseURL: process.env.ORMOCK_FAILURE_MODES,
  retryConfig: { strategy: "none" },
});
const { jobId } = await generateVideo({ adapter, prompt: "reset" });
const first = (await getVideoJobStatus({ adapter, jobId })).status;
let rejected = null;
try {
  await getVideoJobStatus({ adapter, jobId });
} catch (error) {
  rejected = String(error?.message ?? error);
}
const after = [];
for (let i = 0; i < 50 && after.at(-1) !== "completed"; i++) after.push((await getVideoJobStatus({ adapter, jobId })).status);
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(JSON.stringify({ first, rejected, after, stray }));
