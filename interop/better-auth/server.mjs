// A real Better Auth server for Evo-TODO's interop tests: email-and-password sign-in, the jwt plugin,
// an embedded SQLite file, listening on 127.0.0.1:$PORT. Everything is configured by environment:
//
//   PORT                     port to listen on (required)
//   BETTER_AUTH_URL          base URL (default http://127.0.0.1:$PORT)
//   BETTER_AUTH_SECRET       Better Auth's secret; also signs the HS256 tokens of /api/fixture/hs256-token
//   DATABASE_FILE            SQLite file (default: in memory). Use a fresh file per algorithm: Better Auth
//                            keeps signing with an existing key when the algorithm changes.
//   JWT_ALG                  EdDSA (default), ES256, ES512, RS256 or PS256
//   JWT_ISSUER               the `iss` to write (default: origin of the base URL)
//   JWT_AUDIENCE             the `aud` to write; a comma-separated value becomes a list
//   JWT_EXPIRATION           e.g. "15m" (default) or "-60s" for an already-expired token
//   JWKS_ROTATION_INTERVAL   seconds before a new signing key is made (default: never)
//   JWKS_GRACE_PERIOD        seconds an expired key stays published (Better Auth's default: 30 days)
//   TRUSTED_ORIGINS          comma-separated origins of single-page apps (web/) that call it from a browser:
//                            Better Auth accepts their sign-ups and sign-ins, and CORS lets them read the answers
//                            and send the session cookie (credentials), as web/'s demo auth server
import http from "node:http";

import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins";
import { SignJWT } from "jose";

const env = process.env;
const port = Number(env.PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("PORT must be set to a port number");
  process.exit(2);
}
const baseURL = env.BETTER_AUTH_URL || `http://127.0.0.1:${port}`;
const origin = new URL(baseURL).origin;
const secret = env.BETTER_AUTH_SECRET || "interop-fixture-secret-0123456789-abcdefghijklmnop";

const CURVES = { EdDSA: "Ed25519", ES256: "P-256", ES512: "P-521" };
const alg = env.JWT_ALG || "EdDSA";
if (!["EdDSA", "ES256", "ES512", "RS256", "PS256"].includes(alg)) {
  console.error(`unsupported JWT_ALG ${alg}`);
  process.exit(2);
}
const keyPairConfig = CURVES[alg] ? { alg, crv: CURVES[alg] } : { alg, modulusLength: 2048 };
const audienceList = env.JWT_AUDIENCE ? env.JWT_AUDIENCE.split(",").map((a) => a.trim()) : undefined;
const audience = audienceList && audienceList.length === 1 ? audienceList[0] : audienceList;
const issuer = env.JWT_ISSUER || undefined;
const expirationTime = env.JWT_EXPIRATION || "15m";
const trustedOrigins = (env.TRUSTED_ORIGINS || "")
  .split(",")
  .map((o) => o.trim())
  .filter(Boolean);
const rotationInterval = env.JWKS_ROTATION_INTERVAL ? Number(env.JWKS_ROTATION_INTERVAL) : undefined;
const gracePeriod = env.JWKS_GRACE_PERIOD ? Number(env.JWKS_GRACE_PERIOD) : undefined;

const auth = betterAuth({
  baseURL,
  secret,
  database: new Database(env.DATABASE_FILE || ":memory:"),
  trustedOrigins,
  emailAndPassword: { enabled: true },
  telemetry: { enabled: false },
  plugins: [
    jwt({
      jwks: { keyPairConfig, rotationInterval, gracePeriod },
      jwt: { issuer, audience, expirationTime },
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const effectiveConfig = {
  baseURL,
  algorithm: alg,
  issuer: issuer ?? origin,
  audience: audience ?? origin,
  expirationTime,
  trustedOrigins,
  rotationInterval: rotationInterval ?? null,
  gracePeriod: gracePeriod ?? null,
};

function sendJSON(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

// NOT part of Better Auth: the shared-secret pattern some apps use, where a route of the Next.js app checks
// the Better Auth session and signs its own HS256 token for the API with BETTER_AUTH_SECRET.
async function sharedSecretToken(req, res) {
  const session = await auth.api.getSession({ headers: fromNodeHeaders(req.headers) });
  if (!session) return sendJSON(res, 401, { error: "no session" });
  const { user } = session;
  const token = await new SignJWT({ email: user.email, name: user.name })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(user.id)
    .setIssuedAt()
    .setExpirationTime(expirationTime)
    .setIssuer(effectiveConfig.issuer)
    .setAudience(effectiveConfig.audience)
    .sign(new TextEncoder().encode(secret));
  return sendJSON(res, 200, { token });
}

const betterAuthHandler = toNodeHandler(auth);

// CORS for the trusted origins only, with credentials: the SPA's fetch sends the session cookie (same site, so
// Better Auth's SameSite=Lax cookie goes along) and reads the JSON, e.g. {token} of GET /api/auth/token.
// Returns true when it answered a preflight.
function cors(req, res) {
  const requestOrigin = req.headers.origin;
  if (!requestOrigin || !trustedOrigins.includes(requestOrigin)) return false;
  res.setHeader("Access-Control-Allow-Origin", requestOrigin);
  res.setHeader("Access-Control-Allow-Credentials", "true");
  res.setHeader("Vary", "Origin");
  if (req.method !== "OPTIONS") return false;
  res.setHeader("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
  res.setHeader("Access-Control-Allow-Headers", req.headers["access-control-request-headers"] || "content-type");
  res.setHeader("Access-Control-Max-Age", "600");
  res.writeHead(204);
  res.end();
  return true;
}

const server = http.createServer((req, res) => {
  if (cors(req, res)) return;
  const path = new URL(req.url, baseURL).pathname;
  if (req.method === "GET" && path === "/api/fixture/health") return sendJSON(res, 200, effectiveConfig);
  if (req.method === "GET" && path === "/api/fixture/hs256-token") {
    return sharedSecretToken(req, res).catch((error) => sendJSON(res, 500, { error: String(error) }));
  }
  return betterAuthHandler(req, res);
});

server.listen(port, "127.0.0.1", () => {
  console.log(`better-auth fixture on ${baseURL} (${alg})`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
