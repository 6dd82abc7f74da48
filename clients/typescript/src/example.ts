/**
 * How an app uses the client: written as a frontend developer would, and type-checked with `tsc --strict`
 * (`npm run check`), so a schema change that breaks ordinary code breaks the build here first.
 */
import { createEvoTodoClient, type components } from "./client.js";

type Task = components["schemas"]["Task"];

const authURL = "https://app.example.com";

async function fetchToken(): Promise<string> {
  const response = await fetch(`${authURL}/api/auth/token`, { credentials: "include" });
  const { token } = (await response.json()) as { token: string };
  return token;
}

let jwt: string | null = null;

export const api = createEvoTodoClient({
  baseUrl: "https://api.example.com",
  getToken: async () => (jwt ??= await fetchToken()),
  refreshToken: async () => (jwt = await fetchToken()),
});

export async function taskTitles(): Promise<string[]> {
  const { data, error } = await api.GET("/api/tasks");
  if (error) throw new Error(error.detail);
  return data.map((task) => task.title);
}

export async function addTask(title: string): Promise<Task> {
  const { data, error } = await api.POST("/api/tasks", { body: { title } });
  if (error) throw new Error(error.detail);
  return data;
}

export async function rename(id: number, title: string): Promise<Task> {
  const { data, error } = await api.PATCH("/api/tasks/{id}", { params: { path: { id } }, body: { title } });
  if (error) throw new Error(error.detail);
  return data;
}

/** Completes a task; a recurring one's next occurrence comes back under `next`. */
export async function complete(id: number): Promise<Task | null> {
  const { data, error } = await api.PATCH("/api/tasks/{id}/complete", {
    params: { path: { id } },
    body: { completed: true },
  });
  if (error) throw new Error(error.detail);
  return data.next;
}

export async function overdueWork(): Promise<Task[]> {
  const { data, error } = await api.GET("/api/tasks", {
    params: { query: { tag: ["work", "urgent"], tag_mode: "any", overdue: true, sort: "due" } },
  });
  if (error) throw new Error(error.detail);
  return data;
}

export async function sync(tasks: Map<number, Task>, token: string | null): Promise<string | null> {
  for (let more = true; more; ) {
    const { data, error } = await api.GET("/api/sync", { params: { query: token ? { token } : {} } });
    if (error) {
      if (error.code === "sync_token_expired") return sync(new Map(), null);
      throw new Error(error.detail);
    }
    for (const change of data.changes) {
      switch (change.type) {
        case "task":
          tasks.set(change.task.id, change.task);
          break;
        case "task_deleted":
          tasks.delete(change.id);
          break;
        case "list":
        case "list_deleted":
          break;
      }
    }
    [token, more] = [data.next_token, data.more];
  }
  return token;
}

/** A safe write: on 412 read the task again (its new ETag is remembered), keep the user's change, write again. */
export async function saveTitle(id: number, title: string): Promise<Task | "gone"> {
  const { data, error } = await api.PATCH("/api/tasks/{id}", { params: { path: { id } }, body: { title } });
  if (data) return data;
  switch (error.code) {
    case "precondition_failed": {
      const { error: readError } = await api.GET("/api/tasks/{id}", { params: { path: { id } } });
      if (readError) return "gone";
      return saveTitle(id, title);
    }
    case "not_found":
      return "gone";
    case "token_expired":
    case "not_authenticated":
      window.location.assign("/sign-in");
      throw new Error("signed out");
    default:
      throw new Error(`${error.code}: ${error.detail}`);
  }
}

export async function addWebhook(url: string): Promise<string> {
  const { data, error } = await api.POST("/api/webhooks", {
    body: { url, events: ["task.created", "task.completed"] },
  });
  if (error) throw new Error(error.detail);
  return data.secret; // shown once: keep it to verify the signatures
}
