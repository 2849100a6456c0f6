// Loading, empty and error states: designed, never a blank page.

import type { ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../api/client";

export function Loading({ label = "Loading…", rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="sr-only">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <span key={i} className="skeleton" style={{ width: `${90 - i * 17}%` }} />
      ))}
    </div>
  );
}

export function Empty({
  title,
  children,
  icon = "○",
}: {
  title: string;
  children?: ReactNode;
  icon?: string;
}) {
  return (
    <div className="empty" data-state="empty">
      <span className="empty-icon" aria-hidden="true">
        {icon}
      </span>
      <p className="empty-title">{title}</p>
      {children ? <div className="empty-body">{children}</div> : null}
    </div>
  );
}

function describe(error: unknown, what: string): { title: string; body: string; code: string } {
  if (error instanceof ApiError) {
    if (error.isNetwork)
      return {
        code: "network",
        title: "Can't reach the runyard server",
        body: "Is `runyard server` running? This page retries by itself when it comes back.",
      };
    if (error.isNotFound && error.message === "Not Found")
      return {
        code: "unavailable",
        title: `${what} isn't available on this server`,
        body: "This runyard server is older than the dashboard: update it, then reload.",
      };
    if (error.code === "deleted")
      return { code: "deleted", title: `${what} was deleted`, body: error.message };
    if (error.isNotFound)
      return { code: "not_found", title: `${what} not found`, body: error.message };
    return { code: error.code, title: `Could not load ${what.toLowerCase()}`, body: error.message };
  }
  return { code: "error", title: `Could not load ${what.toLowerCase()}`, body: String(error) };
}

export function ErrorState({
  error,
  what = "This",
  retry,
  home = false,
}: {
  error: unknown;
  what?: string;
  retry?: () => void;
  home?: boolean;
}) {
  const d = describe(error, what);
  return (
    <div className="error-state" role="alert" data-error={d.code}>
      <span className="error-icon" aria-hidden="true">
        {d.code === "not_found" ? "?" : "!"}
      </span>
      <p className="error-title">{d.title}</p>
      <p className="error-body">{d.body}</p>
      <div className="row gap">
        {retry ? (
          <button type="button" className="btn" onClick={retry}>
            Try again
          </button>
        ) : null}
        {home ? (
          <Link className="btn" to="/runs">
            All runs
          </Link>
        ) : null}
      </div>
    </div>
  );
}

/** A panel whose body waits for a query: loading, error (unless the resource is optional). */
export function Panel({
  title,
  actions,
  children,
  id,
  className,
}: {
  title: ReactNode;
  actions?: ReactNode;
  children: ReactNode;
  id?: string;
  className?: string;
}) {
  return (
    <section className={`panel ${className ?? ""}`} id={id} aria-labelledby={id ? `${id}-h` : undefined}>
      <header className="panel-head">
        <h2 id={id ? `${id}-h` : undefined}>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}
