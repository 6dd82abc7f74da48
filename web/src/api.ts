/** The Evo-TODO API through the typed client (clients/typescript): tokens, ETags, idempotency and retries. */
import { createEvoTodoClient, type components } from "evotodo-client/src/client";

import { getToken, refreshToken } from "./auth";
import { config } from "./config";

export const api = createEvoTodoClient({ baseUrl: config.apiUrl, getToken, refreshToken });

export type Task = components["schemas"]["Task"];
export type TaskList = components["schemas"]["TaskList"];
export type TagCount = components["schemas"]["TagCount"];

/** The `path` of /api/tasks/{id} and /api/lists/{id}. */
export const itemPath = (id: number) => ({ id });

/** An API error as the user should see it: the message, and the messages of each field. */
export interface Problem {
  status: number;
  code: string;
  message: string;
  fields: Record<string, string>;
}

function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(flatten).join(" ");
  if (typeof value === "object" && value !== null) {
    return Object.entries(value)
      .map(([key, inner]) => `${key}: ${flatten(inner)}`)
      .join(" ");
  }
  return String(value);
}

/**
 * What an error response says: `{detail, code, errors}` (errors: per field, lists of messages, nested for
 * `recurrence`), or RFC 9457 problem+json (`title`, `detail`, and the same `code` and `errors`).
 */
export function problemOf(status: number, body: unknown): Problem {
  const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const errors = typeof record.errors === "object" && record.errors !== null ? record.errors : {};
  const fields = Object.fromEntries(Object.entries(errors).map(([name, value]) => [name, flatten(value)]));
  const detail = typeof record.detail === "string" ? record.detail : undefined;
  const title = typeof record.title === "string" ? record.title : undefined;
  return {
    status,
    code: typeof record.code === "string" ? record.code : "error",
    message: detail ?? title ?? `The API answered ${status}.`,
    fields,
  };
}

/** Throws a Problem for an error answer of the typed client, else returns its data. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) throw problemOf(result.response.status, result.error);
  return result.data as T;
}

export function isProblem(error: unknown): error is Problem {
  return typeof error === "object" && error !== null && "code" in error && "fields" in error;
}

/** A date input's YYYY-MM-DD as 09:00 that day in the browser's time zone, with its offset (RFC 3339). */
export function dueFromDate(date: string): string {
  const local = new Date(`${date}T09:00:00`);
  const minutes = -local.getTimezoneOffset();
  const sign = minutes >= 0 ? "+" : "-";
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${date}T09:00:00${sign}${pad(minutes / 60)}:${pad(minutes % 60)}`;
}

/** A due date-time as YYYY-MM-DD in the browser's time zone (what a date input takes). */
export function dateOf(dueAt: string | null | undefined): string {
  if (!dueAt) return "";
  const d = new Date(dueAt);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
