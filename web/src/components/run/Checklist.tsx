// The checklist of expected outputs, and summary cards built from it.

import type { UseQueryResult } from "@tanstack/react-query";
import type { Checklist } from "../../api/types";
import { ErrorState, Loading, Panel } from "../States";

export function ChecklistCards({ query }: { query: UseQueryResult<Checklist> }) {
  if (!query.data?.items.length) return null;
  return (
    <div className="cards cards-small" aria-label="Checklist summary">
      {query.data.items.map((item) => {
        const ok = item.status === "PASS";
        return (
          <div
            key={item.name}
            className={`card card-check tone-${ok ? "ok" : "bad"}`}
            data-check={item.name}
            data-status={item.status}
          >
            <span className="check-icon" aria-hidden="true">
              {ok ? "✓" : "✕"}
            </span>
            <div className="min0">
              <div className="card-label">{item.name}</div>
              <div className="small">
                <strong>{ok ? "PASS" : "FAIL"}</strong> <span className="muted">{item.detail}</span>
              </div>
            </div>
          </div>
        );
      })}
    </div>
  );
}

export function ChecklistPanel({ query }: { query: UseQueryResult<Checklist> }) {
  const items = query.data?.items ?? [];
  const fails = items.filter((i) => i.status === "FAIL").length;
  return (
    <Panel
      title="Checklist"
      id="checklist"
      actions={
        query.data ? (
          <span className="muted small">
            {query.data.final ? "final" : "as it stands now"} · {items.length - fails}/{items.length} pass
          </span>
        ) : null
      }
    >
      {query.isPending ? (
        <Loading />
      ) : query.data === undefined && query.isError ? (
        <ErrorState error={query.error} what="Checklist" retry={() => void query.refetch()} />
      ) : items.length === 0 ? (
        <p className="muted">Nothing to check yet.</p>
      ) : (
        <ul className="checklist">
          {items.map((item) => {
            const ok = item.status === "PASS";
            return (
              <li key={item.name} className={`check tone-${ok ? "ok" : "bad"}`} data-status={item.status}>
                <code className="check-box" aria-hidden="true">
                  {ok ? "[✓]" : "[ ]"}
                </code>
                <span className={`badge tone-${ok ? "ok" : "bad"}`}>{item.status}</span>
                <div className="min0">
                  <div>
                    <strong>{item.name}</strong> <span className="muted">{item.detail}</span>
                  </div>
                  {!ok && item.hint ? (
                    <div className="hint small">
                      <span aria-hidden="true">→ </span>
                      {item.hint}
                    </div>
                  ) : null}
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </Panel>
  );
}
