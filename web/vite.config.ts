import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The bundle goes where the server serves it (runyard/server/static); `npm run dev` proxies the
// API to a server on the default port.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../runyard/server/static",
    emptyOutDir: true,
    assetsDir: "assets",
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: { "/api": { target: "http://127.0.0.1:8420", changeOrigin: false } },
  },
});
