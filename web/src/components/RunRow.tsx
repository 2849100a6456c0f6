// One row of the runs table; on a phone the same cells lay out as a card (see styles/phone.css).

import { Link } from "react-router";
import type { Run } from "../api/types";
import {
  bestOf,
  fmtAgo,
  fmtDuration,
  fmtNumber,
  fmtValue,
  runDuration,
  runPercent,
} from "../lib/format";
import { ProgressBar } from "./ProgressRing";
import { StatusBadge, statusTone } from "./Status";

/** A chosen column's cell: a param as written, a metric's last value; "—" when absent. */
export function columnValue(run: Run, col: string): string {
  if (col.startsWith("params.")) {
    const key = col.slice(7);
    return key in run.params ? fmtValue(run.params[key]) : "—";
  }
  const key = col.slice(8);
  return key in run.metrics ? fmtNumber(run.metrics[key] ?? null) : "—";
}

export function RunRow({
  run,
  index,
  now,
  checked,
  disabled,
  onToggle,
  onTag,
  measure,
  top,
  extra = [],
}: {
  run: Run;
  index: number;
  now: number;
  checked: boolean;
  disabled: boolean;
  onToggle: () => void;
  onTag: (tag: string) => void;
  measure: (el: Element | null) => void;
  top: number;
  extra?: string[]; // chosen columns: params.KEY or metrics.KEY
}) {
  const pct = runPercent(run);
  const best = bestOf(run);
  const key = run.primary_metric;
  const epochs =
    run.progress.total_epochs != null
      ? `${run.early_stopped ? run.stopped_at_epoch ?? run.progress.epoch ?? "?" : run.progress.epoch ?? 0}/${run.progress.total_epochs}`
      : null;
  return (
    <div
      role="row"
      aria-rowindex={index + 2}
      className={`vrow${checked ? " selected" : ""}`}
      data-index={index}
      data-run-id={run.id}
      ref={measure}
      style={{ transform: `translateY(${top}px)` }}
    >
      <div role="cell" className="cell c-check">
        <input
          type="checkbox"
          checked={checked}
          disabled={disabled}
          onChange={onToggle}
          aria-label={`Select ${run.name}`}
        />
      </div>
      <div role="cell" className="cell c-name">
        <Link to={`/runs/${run.id}`} className="run-link">
          {run.name}
        </Link>
      </div>
      <div role="cell" className="cell c-exp muted" data-label="Experiment">
        {run.experiment}
      </div>
      <div role="cell" className="cell c-status">
        <StatusBadge status={run.status} />
        {run.reason?.startsWith("lost:") ? (
          <span className="status-note" title={run.reason}>
            no heartbeat
          </span>
        ) : null}
        {run.early_stopped ? (
          <div className="small muted early-note">
            <span aria-hidden="true">■ </span>early-stopped
          </div>
        ) : null}
      </div>
      <div role="cell" className="cell c-progress" data-label="Progress">
        <ProgressBar percent={pct} tone={statusTone(run.status)} />
        <span className="small tabular">
          {Math.floor(pct)}%{epochs ? <span className="muted"> · {epochs}</span> : null}
        </span>
      </div>
      <div role="cell" className="cell c-num tabular" data-label="Attempts">
        {run.attempt_count}
      </div>
      <div role="cell" className="cell c-num tabular" data-label="Duration">
        {fmtDuration(runDuration(run, now))}
      </div>
      <div role="cell" className="cell c-best tabular" data-label={key ?? "Best"}>
        {best === null ? (
          <span className="muted">—</span>
        ) : (
          <span title={key ? `${key} (${run.metric_goals[key] ?? "no goal"})` : undefined}>
            {fmtNumber(best)}
            {key ? <span className="muted small"> {key}</span> : null}
          </span>
        )}
      </div>
      <div role="cell" className="cell c-tags">
        {run.tags.slice(0, 4).map((t) => (
          <button key={t} type="button" className="chip" onClick={() => onTag(t)} title={`Filter by tag ${t}`}>
            {t}
          </button>
        ))}
      </div>
      <div role="cell" className="cell c-created muted small" title={run.created_at}>
        {fmtAgo(run.created_at, now)}
      </div>
      {extra.map((col) => (
        <div key={col} role="cell" className="cell c-extra tabular" data-label={col} data-col={col}>
          {columnValue(run, col)}
        </div>
      ))}
    </div>
  );
}
