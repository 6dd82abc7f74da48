/** Where the API and Better Auth are: public/config.js at run time, else the build's env, else `make web`'s. */

declare global {
  interface Window {
    EVOTODO_CONFIG?: { apiUrl?: string; authUrl?: string };
  }
}

const runtime = window.EVOTODO_CONFIG ?? {};

export const config = {
  /** The API's origin: paths start with /api. Another origin than this page's: the API allows it by CORS. */
  apiUrl: runtime.apiUrl ?? import.meta.env.VITE_API_URL ?? "http://127.0.0.1:8000",
  /** Better Auth's origin. Same host as this page (another port is fine), so its session cookie is sent. */
  authUrl: runtime.authUrl ?? import.meta.env.VITE_AUTH_URL ?? "http://127.0.0.1:3000",
};
