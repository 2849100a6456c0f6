// One run: where it stands (status, progress, ETA, early stop, checklist cards), its live
// charts, its log, attempts, config, checkpoints and files.

import { Link, useParams } from "react-router";
import { useChecklist, useProgress, useRun, useSummary } from "../api/hooks";
import type { Run } from "../api/types";
import { CopyButton } from "../components/Copy";
import { Deferred } from "../components/Deferred";
import { ProgressRing } from "../components/ProgressRing";
import { StatusBadge, statusTone } from "../components/Status";
import { ErrorState, Loading } from "../components/States";
import { AttemptTimeline } from "../components/run/Attempts";
import { ChecklistCards, ChecklistPanel } from "../components/run/Checklist";
import { ConfigPanel } from "../components/run/Config";
import { EvaluationPanel } from "../components/run/Evaluation";
import { VisualsPanel } from "../components/run/Visuals";
import { ArtifactsPanel, CheckpointsPanel } from "../components/run/Files";
import { DeleteRunButton, EditableName, NotesPanel, TagEditor } from "../components/run/Labels";
import { LogTail } from "../components/run/LogTail";
import { MediaPanel } from "../components/run/Media";
import { RunCharts } from "../components/run/RunCharts";
import {
  fmtDuration,
  fmtNumber,
  fmtTime,
  isTerminal,
  runDuration,
  runPercent,
} from "../lib/format";
import { useNow, useTitle } from "../lib/hooks";

const SECTIONS = [
  ["charts", "Charts"],
  ["notes", "Notes"],
  ["logs", "Logs"],
  ["attempts", "Attempts"],
  ["config", "Config"],
  ["checkpoints", "Checkpoints"],
  ["artifacts", "Files"],
  ["checklist", "Checklist"],
  ["evaluation", "Evaluation"],
  ["visuals", "Visuals"],
] as const;

export function RunPage() {
  const { id = "" } = useParams();
  const run = useRun(id);
  useTitle(run.data?.name ?? "Run");
  if (run.isPending) return <Loading label="Loading run…" rows={5} />;
  if (run.data === undefined)
    return (
      <div className="page">
        <ErrorState error={run.error} what="Run" retry={() => void run.refetch()} home />
      </div>
    );
  return <RunView run={run.data} />;
}

function EarlyStop({ run, total }: { run: Run; total: number | null }) {
  if (!run.early_stopped) return null;
  const at = run.stopped_at_epoch ?? run.progress.epoch;
  return (
    <span className="badge tone-warn" data-testid="early-stop">
      <span aria-hidden="true">■</span>
      stopped at epoch {at ?? "?"}
      {total ? `/${total}` : ""}
    </span>
  );
}

function RunView({ run }: { run: Run }) {
  const active = !isTerminal(run.status);
  const progress = useProgress(run.id);
  const summary = useSummary(run.id);
  const checklist = useChecklist(run.id);
  const now = useNow(1000);
  const p = progress.data;
  const total = p?.total_epochs ?? run.progress.total_epochs;
  const epoch = p?.epoch ?? run.progress.epoch;
  const pct = runPercent(run);
  const key = run.primary_metric;
  const best = key ? summary.data?.metrics[key] : undefined;

  return (
    <div className="page page-run">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/runs">Runs</Link> <span aria-hidden="true">/</span>{" "}
        <Link to={`/runs?experiment=${encodeURIComponent(run.experiment)}`}>{run.experiment}</Link>
      </nav>
      <div className="page-head">
        <div className="min0">
          <EditableName run={run} />
          <div className="row gap wrap">
            <StatusBadge status={run.status} />
            <EarlyStop run={run} total={total} />
            <code className="muted small">{run.id}</code>
            <CopyButton text={run.id} label="Copy id" />
          </div>
          <TagEditor run={run} />
          {run.reason ? (
            <p className={`reason tone-${statusTone(run.status)}`}>
              <strong>Reason:</strong> {run.reason}
            </p>
          ) : null}
        </div>
        <div className="row gap">
          <Link className="btn" to={`/compare?runs=${run.id}`} title="Compare with other runs">
            Compare…
          </Link>
          <DeleteRunButton run={run} />
        </div>
      </div>

      <div className="cards">
        <div className="card card-progress">
          <ProgressRing percent={pct} size={72} tone={statusTone(run.status)} label="Run progress" />
          <div>
            <div className="card-label">Epoch</div>
            <div className="card-value tabular" data-testid="epochs">
              {total ? `${run.early_stopped ? (run.stopped_at_epoch ?? epoch) : (epoch ?? 0)}/${total}` : "—"}
            </div>
            <div className="muted small">
              {active
                ? p?.eta_s != null
                  ? `ETA ${fmtDuration(p.eta_s)}`
                  : "ETA —"
                : run.early_stopped
                  ? "complete (early-stopped)"
                  : run.status}
            </div>
          </div>
        </div>
        <div className="card">
          <div className="card-label">Duration</div>
          <div className="card-value tabular">{fmtDuration(runDuration(run, now))}</div>
          <div className="muted small">started {fmtTime(run.started_at)}</div>
        </div>
        <div className="card">
          <div className="card-label">Attempts</div>
          <div className="card-value tabular">{run.attempt_count}</div>
          <div className="muted small">{run.status === "retrying" ? "waiting to retry" : " "}</div>
        </div>
        <div className="card">
          <div className="card-label">Best {key ?? "metric"}</div>
          <div className="card-value tabular">
            {best ? fmtNumber(best.best ?? best.last) : "—"}
          </div>
          <div className="muted small">
            {best?.goal ? `${best.goal === "min" ? "lowest" : "highest"}` : key ? "no goal" : "no primary metric"}
            {best?.best_step != null ? ` · step ${best.best_step}` : ""}
          </div>
        </div>
      </div>

      <ChecklistCards query={checklist} />

      <nav className="subnav" aria-label="Sections">
        {SECTIONS.map(([anchor, label]) => (
          <a key={anchor} href={`#${anchor}`}>
            {label}
          </a>
        ))}
      </nav>

      <RunCharts run={run} />
      <MediaPanel run={run} />
      <NotesPanel run={run} />
      <Deferred id="logs" minHeight={240}>
        <LogTail run={run} />
      </Deferred>
      <Deferred id="attempts">
        <div className="two-col">
          <AttemptTimeline run={run} />
          <ConfigPanel run={run} />
        </div>
      </Deferred>
      <Deferred id="checkpoints">
        <CheckpointsPanel run={run} />
      </Deferred>
      <Deferred id="artifacts">
        <ArtifactsPanel run={run} />
      </Deferred>
      <Deferred id="checklist">
        <ChecklistPanel query={checklist} />
      </Deferred>
      <Deferred id="evaluation">
        <EvaluationPanel runId={run.id} />
      </Deferred>
      <Deferred id="visuals">
        <VisualsPanel runId={run.id} />
      </Deferred>
    </div>
  );
}
