// The attempts of a run as a timeline: when each ran, how it ended and why it was retried.

import { useAttempts } from "../../api/hooks";
import type { Attempt, Run } from "../../api/types";
import { fmtDuration, fmtTime, toMs } from "../../lib/format";
import { ErrorState, Loading, Panel } from "../States";

const TONE: Record<string, string> = {
  starting: "info",
  running: "info",
  succeeded: "ok",
  failed: "bad",
  timed_out: "bad",
  lost: "warn",
  cancelled: "muted",
};
const ICON: Record<string, string> = {
  starting: "↻",
  running: "▶",
  succeeded: "✓",
  failed: "✕",
  timed_out: "⏱",
  lost: "?",
  cancelled: "⊘",
};

function ending(a: Attempt): string {
  if (a.signal != null) return `signal ${a.signal}`;
  if (a.exit_code != null) return `exit ${a.exit_code}`;
  return "";
}

export function AttemptTimeline({ run }: { run: Run }) {
  const attempts = useAttempts(run.id);
  return (
    <Panel title="Attempts" id="attempts">
      {attempts.isPending ? (
        <Loading />
      ) : attempts.data === undefined && attempts.isError ? (
        <ErrorState error={attempts.error} what="Attempts" retry={() => void attempts.refetch()} />
      ) : attempts.data.length === 0 ? (
        <p className="muted">
          {run.status === "queued"
            ? "Waiting in the queue: no attempt has started yet."
            : "Tracked only: runyard did not launch this run, so it has no attempts."}
        </p>
      ) : (
        <ol className="timeline">
          {attempts.data.map((a, i) => {
            const start = toMs(a.started_at);
            const end = toMs(a.ended_at);
            const next = attempts.data[i + 1];
            return (
              <li key={a.number} className={`tl-item tone-${TONE[a.status] ?? "muted"}`} data-attempt={a.number}>
                <span className="tl-dot" aria-hidden="true">
                  {ICON[a.status] ?? "•"}
                </span>
                <div className="tl-body">
                  <div className="row gap wrap">
                    <strong>Attempt {a.number}</strong>
                    <span className={`badge tone-${TONE[a.status] ?? "muted"}`}>{a.status.replace("_", " ")}</span>
                    <span className="muted small">{ending(a)}</span>
                  </div>
                  <div className="muted small">
                    {fmtTime(a.started_at)}
                    {start !== null ? ` · ${fmtDuration(((end ?? Date.now()) - start) / 1000)}` : ""}
                    {a.gpus?.length ? ` · GPU ${a.gpus.join(",")}` : ""}
                  </div>
                  {a.reason ? <div className="tl-reason">{a.reason}</div> : null}
                  {next ? <div className="tl-retry small">↻ retried as attempt {next.number}</div> : null}
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </Panel>
  );
}
