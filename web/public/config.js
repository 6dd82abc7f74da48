// Where this SPA finds the Evo-TODO API and Better Auth. A deployment (or web/tests) overwrites this file beside
// index.html; left empty, the build's VITE_API_URL and VITE_AUTH_URL apply, else http://127.0.0.1:8000 and :3000.
window.EVOTODO_CONFIG = {};
