/**
 * The client against a real Evo-TODO server (clients/tests/test_typescript_client.py starts it): prints what it
 * saw as one JSON object, which the Python test checks beside the database.
 *
 * Environment: EVOTODO_URL, EVOTODO_TOKEN (valid), EVOTODO_EXPIRED_TOKEN (same user, `exp` in the past).
 */
import { createEvoTodoClient } from "../src/client.js";

declare const process: { env: Record<string, string | undefined>; stdout: { write(text: string): void } };

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const baseUrl = setting("EVOTODO_URL");
const token = setting("EVOTODO_TOKEN");
const expiredToken = setting("EVOTODO_EXPIRED_TOKEN");

// The path id is a string in today's schema and an integer once it is fixed: this script checks behaviour, not
// types (src/example.ts does that), so it passes ids through untyped.
const at = (id: number) => ({ path: { id: id as never } });

async function createRetriedAfterLostResponse() {
  const keys: (string | null)[] = [];
  let lose = true;
  const api = createEvoTodoClient({
    baseUrl,
    getToken: () => token,
    sleep: async () => undefined,
    fetch: async (request) => {
      keys.push(request.headers.get("Idempotency-Key"));
      const response = await fetch(request);
      if (lose) {
        lose = false; // the server created it; the answer never arrives
        throw new TypeError("fetch failed");
      }
      return response;
    },
  });
  const { data, response } = await api.POST("/api/tasks", { body: { title: "created once", description: "" } });
  return { status: response.status, id: data?.id, keys, replayed: response.headers.get("Idempotent-Replayed") };
}

async function staleIfMatch() {
  const api = createEvoTodoClient({ baseUrl, getToken: () => token });
  const other = createEvoTodoClient({ baseUrl, getToken: () => token }); // a second device
  const created = await api.POST("/api/tasks", { body: { title: "first", description: "" } });
  const id = created.data?.id ?? -1;
  const remembered = api.etags.get(`tasks/${id}`);
  const otherWrite = await other.PATCH("/api/tasks/{id}", { params: at(id), body: { title: "other device" } as never });
  const stale = await api.PATCH("/api/tasks/{id}", { params: at(id), body: { title: "mine" } as never });
  const sentIfMatch = stale.response.status === 412 ? remembered : null;
  await api.GET("/api/tasks/{id}", { params: at(id) }); // read again: its ETag is remembered
  const retried = await api.PATCH("/api/tasks/{id}", { params: at(id), body: { title: "mine" } as never });
  return {
    id,
    createdEtag: remembered ?? null,
    otherStatus: otherWrite.response.status,
    staleStatus: stale.response.status,
    staleCode: stale.error?.code ?? null,
    sentIfMatch,
    retriedStatus: retried.response.status,
    retriedTitle: retried.data?.title ?? null,
  };
}

async function refreshOnExpiredToken() {
  let current = expiredToken;
  let refreshes = 0;
  const api = createEvoTodoClient({
    baseUrl,
    getToken: () => current,
    refreshToken: async () => {
      refreshes += 1;
      current = token;
      return current;
    },
  });
  const [first, second] = await Promise.all([api.GET("/api/me"), api.GET("/api/tasks")]);
  const noRefresh = createEvoTodoClient({ baseUrl, getToken: () => expiredToken });
  const refused = await noRefresh.GET("/api/me");
  return {
    statuses: [first.response.status, second.response.status],
    refreshes,
    withoutRefresh: { status: refused.response.status, code: refused.error?.code ?? null },
  };
}

async function throttled() {
  const waits: number[] = [];
  let answers = [429, 429];
  const api = createEvoTodoClient({
    baseUrl,
    getToken: () => token,
    sleep: async (milliseconds) => {
      waits.push(milliseconds);
    },
    fetch: async (request) => {
      const status = answers.shift();
      if (status === undefined) return fetch(request);
      const body = JSON.stringify({ detail: "slow down", code: "throttled" });
      return new Response(body, { status, headers: { "Retry-After": "2", "Content-Type": "application/json" } });
    },
  });
  const created = await api.POST("/api/tasks", { body: { title: "after a 429", description: "" } });
  answers = [429];
  const patient = createEvoTodoClient({
    baseUrl,
    getToken: () => token,
    maxRetryAfterSeconds: 1,
    fetch: async () =>
      new Response(JSON.stringify({ detail: "later", code: "throttled" }), {
        status: 429,
        headers: { "Retry-After": "120" },
      }),
  });
  const tooLong = await patient.GET("/api/me");
  return { status: created.response.status, waits, tooLongStatus: tooLong.response.status };
}

const result = {
  idempotentCreate: await createRetriedAfterLostResponse(),
  staleIfMatch: await staleIfMatch(),
  refresh: await refreshOnExpiredToken(),
  throttled: await throttled(),
};
process.stdout.write(JSON.stringify(result) + "\n");
