// The frame of every page: brand, navigation, the live-connection indicator.

import { useEffect } from "react";
import { NavLink, Outlet, useLocation } from "react-router";
import { useLiveState } from "../api/live";
import { FaultBanner } from "./FaultBanner";
import { LogOut } from "./LogOut";

const NAV = [
  { to: "/", label: "Overview", end: true },
  { to: "/runs", label: "Runs" },
  { to: "/compare", label: "Compare" },
  { to: "/pipelines", label: "Pipelines" },
  { to: "/datasets", label: "Datasets" },
  { to: "/sweeps", label: "Sweeps" },
];

function LiveIndicator() {
  const state = useLiveState();
  const text = {
    live: "Live",
    connecting: "Connecting…",
    polling: "Polling",
    offline: "Offline",
  }[state];
  return (
    <span
      className={`live live-${state}`}
      role="status"
      aria-live="polite"
      title={state === "live" ? "Updates arrive as they happen" : "Live updates are unavailable; refreshing every few seconds"}
    >
      <span className="live-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

export function Layout() {
  const { pathname } = useLocation();
  const state = useLiveState();
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [pathname]);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to="/" className="brand" aria-label="runyard home">
          <svg width="22" height="22" viewBox="0 0 16 16" aria-hidden="true">
            <rect width="16" height="16" rx="4" fill="var(--accent)" />
            <path d="M4 11l3-6 2 4 1.5-2L12 11" stroke="white" strokeWidth="1.6" fill="none" />
          </svg>
          <span>runyard</span>
        </NavLink>
        <nav aria-label="Main" className="nav">
          {NAV.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.end} className="nav-link">
              {n.label}
            </NavLink>
          ))}
        </nav>
        <LiveIndicator />
        <LogOut />
      </header>
      {state === "offline" ? (
        <div className="offline-banner" role="alert" data-error="network">
          <strong>Can't reach the runyard server.</strong> Showing what was loaded; retrying by
          itself. Is <code>runyard server</code> running?
        </div>
      ) : null}
      <FaultBanner />
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}
