/**
 * Sign-in with Better Auth, and the short-lived JWT for the API from its jwt plugin.
 *
 * Better Auth keeps the session in its own cookie (on its origin, sent because the client fetches with
 * credentials). The API never sees that cookie: it gets `Authorization: Bearer <jwt>`, the token of
 * `GET /api/auth/token`, kept in memory only. When the API answers 401 `token_expired`, the typed client calls
 * `refreshToken()` once and sends the request again, so the user never notices.
 */
import { createAuthClient } from "better-auth/client";

import { config } from "./config";

export const authClient = createAuthClient({ baseURL: config.authUrl });

/** No Better Auth session (signed out, or the session expired): the app shows the sign-in form. */
export class SignedOut extends Error {
  constructor() {
    super("Your session has ended: please sign in again.");
  }
}

let token: string | null = null;
let fetching: Promise<string> | null = null;
let onSignedOut: () => void = () => {};

/** Called when a token cannot be had any more (the session is gone). */
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

async function fetchToken(): Promise<string> {
  const response = await fetch(`${config.authUrl}/api/auth/token`, { credentials: "include" });
  if (response.status === 401) {
    onSignedOut();
    throw new SignedOut();
  }
  if (!response.ok) throw new Error(`Better Auth answered ${response.status} for a token`);
  const body = (await response.json()) as { token: string };
  token = body.token;
  return token;
}

/** The current token, fetched once when there is none (requests at the same moment share that fetch). */
export function getToken(): Promise<string> {
  if (token !== null) return Promise.resolve(token);
  fetching ??= fetchToken().finally(() => {
    fetching = null;
  });
  return fetching;
}

/** A new token: the API said the one we sent expired. */
export function refreshToken(): Promise<string> {
  token = null;
  return getToken();
}

export function forgetToken(): void {
  token = null;
}
