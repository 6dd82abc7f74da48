/**
 * A thin Evo-TODO client: openapi-fetch over the generated types, plus what every app needs from this API.
 *
 * - `Authorization: Bearer` from your token provider, asked before every request.
 * - A 401 `token_expired`: `refreshToken()` once (shared by the requests in flight), then the request again once.
 * - Safe writes: the last `ETag` seen per task and list is sent as `If-Match` on PUT, PATCH, DELETE, `/complete`
 *   and `/move`, unless you send one. A 412 `precondition_failed` comes back as `error`: read the item again (which
 *   records its new ETag), merge, write again.
 * - Creates (POST to /tasks, /lists, /webhooks, /batch) and `/complete` carry an `Idempotency-Key`, so a retry after
 *   a lost response or a 502/503/504 replays the first answer instead of doing it twice.
 * - A 429 waits `Retry-After` (at most `maxRetryAfterSeconds`) and tries again, `maxRetries` times at most.
 *
 * openapi-fetch middleware sets the headers and records ETags; the replays live in the `fetch` given to
 * createClient, because a middleware cannot send a request again. The Request it receives is cloned before each
 * attempt, so its body can be sent more than once.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { paths } from "./api.js";

export type { components, operations, paths } from "./api.js";

export interface EvoTodoClientOptions {
  /** The API's origin, e.g. "https://api.example.com" (paths start with /api). */
  baseUrl: string;
  /** The current token: e.g. from Better Auth's `GET /api/auth/token`. Asked before every request, so after a
   * refresh it should return the new one. */
  getToken: () => string | Promise<string>;
  /** A new token after a 401 `token_expired`; without it that 401 is returned as it is. */
  refreshToken?: () => string | Promise<string>;
  /** Retries after a 429, or after a transient failure of a request that is safe to repeat (default 3). */
  maxRetries?: number;
  /** A longer `Retry-After` is not waited for: the 429 is returned (default 30). */
  maxRetryAfterSeconds?: number;
  /** The fetch to send with (default globalThis.fetch); tests and server-side rendering pass their own. */
  fetch?: (request: Request) => Promise<Response>;
  /** How to wait before a retry (default setTimeout); tests pass one that does not sleep. */
  sleep?: (milliseconds: number) => Promise<void>;
}

export type EvoTodoClient = Client<paths> & {
  /** The ETags remembered, by "tasks/7" or "lists/3": what `If-Match` will send. */
  readonly etags: Map<string, string>;
};

const WRITE_METHODS = new Set(["PUT", "PATCH", "DELETE", "POST"]);
const TRANSIENT_STATUSES = new Set([502, 503, 504]);
// A task or a list, in either path shape (/api/tasks/7, /api/{user_id}/lists/3), and its /complete or /move.
const ITEM_PATH = /\/(tasks|lists)\/(\d+)(?:\/(complete|move))?\/?$/;
// A POST here creates something (batch: several things) and the server honours Idempotency-Key for it.
const CREATE_PATH = /\/(tasks|lists|webhooks|batch)\/?$/;

/** The ETag cache key of the task or list a URL names ("tasks/7"), or null. */
function itemKey(url: string): string | null {
  const match = ITEM_PATH.exec(new URL(url).pathname);
  return match ? `${match[1]}/${match[2]}` : null;
}

function needsIdempotencyKey(request: Request): boolean {
  const path = new URL(request.url).pathname;
  if (request.method === "POST") return CREATE_PATH.test(path);
  return request.method === "PATCH" && ITEM_PATH.exec(path)?.[3] === "complete";
}

/** The `code` of a JSON error body (`{"detail", "code"}` or problem+json with a `code` member), or null. */
async function errorCode(response: Response): Promise<string | null> {
  try {
    const body: unknown = await response.clone().json();
    if (typeof body === "object" && body !== null && "code" in body && typeof body.code === "string") {
      return body.code;
    }
  } catch {
    // Not JSON (a proxy's page): no code.
  }
  return null;
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or null when absent or unreadable. */
function retryAfterSeconds(response: Response): number | null {
  const value = response.headers.get("Retry-After");
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, (date - Date.now()) / 1000);
}

function withHeader(request: Request, name: string, value: string): Request {
  const headers = new Headers(request.headers);
  headers.set(name, value);
  return new Request(request, { headers });
}

export function createEvoTodoClient(options: EvoTodoClientOptions): EvoTodoClient {
  const {
    baseUrl,
    getToken,
    refreshToken,
    maxRetries = 3,
    maxRetryAfterSeconds = 30,
    fetch: send = (request: Request) => globalThis.fetch(request),
    sleep = (milliseconds: number) => new Promise<void>((resolve) => setTimeout(resolve, milliseconds)),
  } = options;
  const etags = new Map<string, string>();
  let refreshing: Promise<string> | null = null;

  /** One refresh for all the requests that found their token expired at the same time. */
  function refreshed(): Promise<string> {
    if (refreshing === null && refreshToken !== undefined) {
      refreshing = Promise.resolve()
        .then(refreshToken)
        .finally(() => {
          refreshing = null;
        });
    }
    return refreshing ?? Promise.reject(new Error("no refreshToken"));
  }

  /** Send, and send again after an expired token, a 429, or a transient failure of a repeatable request. */
  async function sendWithRetries(request: Request): Promise<Response> {
    const repeatable = request.method === "GET" || request.headers.has("Idempotency-Key");
    let current = request;
    let tokenRefreshed = false;
    for (let retries = 0; ; retries += 1) {
      let response: Response;
      try {
        response = await send(current.clone());
      } catch (error) {
        // The network failed: the server may or may not have done it, so only a repeatable request goes again.
        if (!repeatable || retries >= maxRetries) throw error;
        await sleep(250 * 2 ** retries);
        continue;
      }
      if (response.status === 401 && refreshToken !== undefined && !tokenRefreshed) {
        if ((await errorCode(response)) === "token_expired") {
          tokenRefreshed = true;
          // Another request may have refreshed it since this one was sent: then its token is the one to use.
          const latest = await getToken();
          const sent = current.headers.get("Authorization");
          const token = sent === `Bearer ${latest}` ? await refreshed() : latest;
          current = withHeader(current, "Authorization", `Bearer ${token}`);
          retries -= 1; // a refresh is not one of the retries
          continue;
        }
      }
      const throttled = response.status === 429;
      if ((throttled || (repeatable && TRANSIENT_STATUSES.has(response.status))) && retries < maxRetries) {
        const wait = retryAfterSeconds(response) ?? (throttled ? 1 : 0.25 * 2 ** retries);
        if (wait <= maxRetryAfterSeconds) {
          await response.body?.cancel();
          await sleep(wait * 1000);
          continue;
        }
      }
      return response;
    }
  }

  const headers: Middleware = {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await getToken()}`);
      const key = itemKey(request.url);
      const etag = key === null ? undefined : etags.get(key);
      if (etag !== undefined && WRITE_METHODS.has(request.method) && !request.headers.has("If-Match")) {
        request.headers.set("If-Match", etag);
      }
      if (needsIdempotencyKey(request) && !request.headers.has("Idempotency-Key")) {
        request.headers.set("Idempotency-Key", crypto.randomUUID());
      }
      return request;
    },
    async onResponse({ request, response }) {
      let key = itemKey(request.url);
      if (request.method === "DELETE" && response.ok && key !== null) {
        etags.delete(key);
        return undefined;
      }
      const etag = response.headers.get("ETag");
      if (etag === null || !response.ok) return undefined;
      if (key === null && request.method === "POST") {
        // A create answers with the new item and its ETag: remember it under the item's own URL.
        const kind = /\/(tasks|lists)\/?$/.exec(new URL(request.url).pathname)?.[1];
        const body: unknown = await response
          .clone()
          .json()
          .catch(() => null);
        if (kind && typeof body === "object" && body !== null && "id" in body) key = `${kind}/${String(body.id)}`;
      }
      if (key !== null) etags.set(key, etag);
      return undefined;
    },
  };

  const client = createClient<paths>({ baseUrl, fetch: sendWithRetries });
  client.use(headers);
  return Object.assign(client, { etags });
}
