// What each parallel worker checks: its own jobs, isolated by X-Test-Id, on the one shared server.
import { readFileSync } from "node:fs";

import { expect, inject, test } from "vitest";
import { OpenRouter } from "@openrouter/sdk";

import { withTestId } from "./ormock.mjs";

const MODEL = "bytedance/seedance-2.0";
const WORKERS = 4;

export function suite(name) {
  test(`${name}: three jobs of its own, invisible to the other workers`, async () => {
    const baseURL = inject("ormockBaseURL");
    expect(process.env.OPENROUTER_BASE_URL).toBe(baseURL);
    // A process started before the global setup (Playwright's webServer) finds it in the URL file.
    expect(readFileSync(process.env.ORMOCK_URL_FILE, "utf8").trim()).toBe(baseURL);
    const root = baseURL.replace(/\/api\/v1$/, "");
    const testId = `${process.env.VITEST_POOL_ID}-${name}`;
    const client = new OpenRouter({
      apiKey: "sk-or-anything",
      serverURL: baseURL,
      httpClient: withTestId(testId),
      retryConfig: { strategy: "none" },
    });
    const videos = client.videoGeneration;

    const ids = [];
    for (const prompt of ["a calm sea", "please fail", "cancel"]) {
      const job = await videos.generate({ videoGenerationRequest: { model: MODEL, prompt } });
      ids.push(job.id);
    }
    const endings = [];
    for (const jobId of ids) {
      let job;
      for (let i = 0; i < 20; i++) {
        job = await videos.getGeneration({ jobId });
        if (["completed", "failed", "cancelled", "expired"].includes(job.status)) break;
      }
      endings.push(job.status);
    }
    expect(endings).toEqual(["completed", "failed", "cancelled"]);
    const bytes = new Uint8Array(await new Response(await videos.getVideoContent({ jobId: ids[0] })).arrayBuffer());
    expect(new TextDecoder().decode(bytes.slice(4, 8))).toBe("ftyp");

    // The control API under this test id lists exactly these jobs ...
    const mine = await (await fetch(`${root}/__ormock/jobs`, { headers: { "X-Test-Id": testId } })).json();
    expect(mine.data.map((job) => job.id).sort()).toEqual([...ids].sort());
    // ... and under any other test id, these jobs do not exist.
    const other = await fetch(`${baseURL}/videos/${ids[0]}`, {
      headers: { Authorization: "Bearer sk-or-anything", "X-Test-Id": `${testId}-other` },
    });
    expect(other.status).toBe(404);

    // The workers really ran side by side: wait (bounded) until all of them have jobs on the server.
    let namespaces = new Set();
    for (let i = 0; i < 400 && namespaces.size < WORKERS; i++) {
      const all = await (await fetch(`${root}/__ormock/jobs`)).json();
      namespaces = new Set(all.data.map((job) => job.test_id));
      if (namespaces.size < WORKERS) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(namespaces.size).toBe(WORKERS);
  });
}
