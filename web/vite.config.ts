import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  // The typed client is linked from ../clients/typescript (a file: dependency): let Vite serve it in dev.
  server: { fs: { allow: [".."] } },
});
