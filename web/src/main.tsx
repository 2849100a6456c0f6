import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { ApiError } from "./api/client";
import { prefetchFor } from "./api/hooks";
import { liveState, startLive } from "./api/live";
import { App } from "./App";
import "./styles/base.css";
import "./styles/components.css";
import "./styles/pages.css";
import "./styles/phone.css";
import "./styles/edits.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      retry: (count, error) =>
        !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
      // Live events keep caches fresh; without them (server down, older server) poll.
      refetchInterval: () => (liveState() === "live" ? false : 5_000),
      refetchOnWindowFocus: false,
    },
  },
});

const firstRead = prefetchFor(queryClient, window.location.pathname);
startLive(queryClient);

// A deep link's first render waits (briefly) for its data: the page then paints once, whole,
// instead of a skeleton that is replaced a moment later.
const briefly = new Promise((resolve) => setTimeout(resolve, 250));
void Promise.race([firstRead, briefly]).then(render);

function render() {
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </StrictMode>,
  );
}
