// ormock for JavaScript test suites: start it once per run, give each test its own namespace.
// Copy this file into your suite (it needs only Node 20+ and, for `withTestId`, @openrouter/sdk).
//
//   Vitest:      test: { globalSetup: ["./ormock.mjs"] }      then  inject("ormockBaseURL")
//   Playwright:  globalSetup: "./ormock.mjs"                   then  process.env.OPENROUTER_BASE_URL
//
// The default export starts `ormock serve` and returns its teardown (both runners call it at the
// end). Settings come from the environment: ORMOCK_SCENARIO (a built-in name or a file; default
// ci-fast), ORMOCK_PORT (default 0: a free port), ORMOCK_URL_FILE (also write the base URL there,
// for processes started before this setup ran, such as Playwright's webServer), ORMOCK_BIN (the
// ormock executable, e.g. ../.venv/bin/ormock; default: `ormock` on PATH), ORMOCK_COMMAND (a whole
// command instead, e.g. "python3 -m ormock").
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

import { HTTPClient } from "@openrouter/sdk/lib/http.js";

const MISSING =
  "ormock is not installed where this suite runs: install it with `pipx install /path/to/ormock` (a clone or a " +
  "built wheel; `pipx install ormock` once it is published), or set ORMOCK_BIN to its executable.";

export async function startOrmock({
  scenario = process.env.ORMOCK_SCENARIO ?? "ci-fast",
  port = process.env.ORMOCK_PORT ?? "0",
  urlFile = process.env.ORMOCK_URL_FILE,
  command = process.env.ORMOCK_COMMAND ?? process.env.ORMOCK_BIN ?? "ormock",
  args = [],
  timeoutMs = 30_000,
} = {}) {
  const [program, ...prefix] = command.split(" ");
  const serveArgs = [...prefix, "serve", scenario, "--port", String(port), "--no-dashboard", ...args];
  if (urlFile) serveArgs.push("--url-file", urlFile);
  const child = spawn(program, serveArgs, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null)); // it never started (see below)
  });

  // The first line ormock prints is the base URL (it ends in /api/v1).
  const lines = createInterface({ input: child.stdout });
  const baseURL = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ormock printed no URL within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    lines.once("line", (line) => (clearTimeout(timer), resolve(line.trim())));
    child.once("error", (error) => (clearTimeout(timer), reject(error.code === "ENOENT" ? new Error(MISSING) : error)));
    exited.then((code) => (clearTimeout(timer), reject(new Error(`ormock exited (${code}): ${stderr}`))));
  });
  lines.on("line", () => {}); // keep draining the log so the server never blocks on a full pipe

  // Ready when the control API answers.
  const root = baseURL.replace(/\/api\/v1$/, "");
  for (let tries = 0; ; tries++) {
    try {
      if ((await fetch(`${root}/__ormock/health`)).ok) break;
    } catch (error) {
      if (tries > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const code = await exited;
    if (code !== 0) throw new Error(`ormock stopped with exit code ${code}: ${stderr}`);
  };
  return { baseURL, root, stop };
}

// Vitest passes { provide }; Playwright passes its config. Either way the URL is exported.
export default async function globalSetup(context) {
  const server = await startOrmock();
  process.env.OPENROUTER_BASE_URL = server.baseURL;
  context?.provide?.("ormockBaseURL", server.baseURL);
  return server.stop;
}

// Where a test finds the server: the environment, else the URL file ormock wrote.
export function ormockBaseURL() {
  if (process.env.OPENROUTER_BASE_URL) return process.env.OPENROUTER_BASE_URL;
  if (process.env.ORMOCK_URL_FILE) return readFileSync(process.env.ORMOCK_URL_FILE, "utf8").trim();
  throw new Error("no ormock: set OPENROUTER_BASE_URL or ORMOCK_URL_FILE (see ormock.mjs)");
}

// An HTTPClient for @openrouter/sdk that puts `X-Test-Id` on every request, so tests running in
// parallel each get their own jobs, journal and rule counts on the one server:
//   new OpenRouter({ apiKey, serverURL: ormockBaseURL(), httpClient: withTestId(`${worker}-${test}`) })
export function withTestId(testId) {
  const http = new HTTPClient();
  http.addHook("beforeRequest", (request) => {
    const tagged = new Request(request);
    tagged.headers.set("X-Test-Id", testId);
    return tagged;
  });
  return http;
}

// Scripts the jobs of one test: rules tried before the scenario's for requests that carry
// `X-Test-Id: testId`, as `[[rule]]` tables in TOML text or as objects with the same keys. They last
// until `resetTest(testId)`. A rule that does not load rejects with every problem, key by key.
export async function addRules(testId, rules) {
  const toml = typeof rules === "string";
  const response = await fetch(`${ormockRoot()}/__ormock/rules`, {
    method: "POST",
    headers: { "X-Test-Id": testId, "Content-Type": toml ? "application/toml" : "application/json" },
    body: toml ? rules : JSON.stringify({ rules: Array.isArray(rules) ? rules : [rules] }),
  });
  const answer = await response.json();
  if (!response.ok) {
    const problems = (answer.error.metadata?.problems ?? []).map((p) => `\n  ${p.key}: ${p.message}`);
    throw new Error(`ormock refused the rules: ${answer.error.message}${problems.join("")}`);
  }
  return answer.data;
}

// Forgets one test's jobs, journal and rules.
export async function resetTest(testId) {
  await fetch(`${ormockRoot()}/__ormock/reset`, { method: "POST", headers: { "X-Test-Id": testId } });
}

function ormockRoot() {
  return ormockBaseURL().replace(/\/api\/v1$/, "");
}
