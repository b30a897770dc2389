// What the official TypeScript SDK sees of a scripted set of jobs, printed as JSON: run against
// `ormock record` and then against `ormock serve` of the recording, the two must be the same.
// ORMOCK_BASE is the API root; ORMOCK_CLOCKS the roots whose manual clocks move 10 s between polls.
import { OpenRouter } from "@openrouter/sdk";
import * as errors from "@openrouter/sdk/models/errors";

const client = new OpenRouter({
  apiKey: "sk-or-recording-secret-9f3a",
  serverURL: process.env.ORMOCK_BASE,
  retryConfig: { strategy: "none" },
});
const videos = client.videoGeneration;
const clocks = (process.env.ORMOCK_CLOCKS || "").split(",").filter(Boolean);
const advance = async () => {
  for (const root of clocks) {
    const answer = await fetch(`${root}/__ormock/clock/advance`, { method: "POST", body: JSON.stringify({ seconds: 10 }) });
    if (!answer.ok) throw new Error(`advance: ${answer.status}`);
  }
};
const seen = [];
for (const prompt of ["complete me", "please fail", "cancel this", "let it expire", "revoked", "busy day"]) {
  let job;
  try {
    job = await videos.generate({ videoGenerationRequest: { model: "bytedance/seedance-2.0", prompt } });
  } catch (error) {
    if (!(error instanceof errors.TooManyRequestsResponseError)) throw error;
    seen.push([prompt, "submit", 429, error.headers.get("retry-after")]);
    job = await videos.generate({ videoGenerationRequest: { model: "bytedance/seedance-2.0", prompt } });
  }
  seen.push([prompt, "submit", job.status]);
  for (let i = 0; i < 8; i++) {
    await advance();
    let status;
    try {
      status = await videos.getGeneration({ jobId: job.id });
    } catch (error) {
      if (!(error instanceof errors.UnauthorizedResponseError)) throw error;
      seen.push([prompt, "poll", 401, error.message]);
      continue;
    }
    seen.push([prompt, "poll", status.status, status.error ?? null, status.usage?.cost ?? null]);
    if (["completed", "failed", "cancelled", "expired"].includes(status.status)) {
      if (status.status === "completed") {
        const bytes = new Uint8Array(await new Response(await videos.getVideoContent({ jobId: job.id })).arrayBuffer());
        const digest = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("hex");
        seen.push([prompt, "content", bytes.length, digest]);
      }
      break;
    }
  }
}
console.log(JSON.stringify(seen));
