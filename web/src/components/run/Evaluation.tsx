// The run's evaluation report (GET /api/runs/{id}/evaluation): per split, metric cards with
// words and colours, the ROC curve, the confusion matrix, the per-class table, the worst ids.

import { useQuery } from "@tanstack/react-query";
import { api, enc } from "../../api/client";
import { ErrorState, Loading, Panel } from "../States";

type Num = number | null;
interface SplitReport {
  kind: string;
  n: number;
  classes: string[];
  threshold?: Num;
  threshold_rule?: string;
  metrics: Record<string, Num>;
  per_class: Record<string, string | Num>[];
  confusion_matrix?: number[][];
  roc?: Record<string, number[][]>;
  worst: Record<string, string | number>[];
  notes: string[];
  source_run?: string;
}

export function useEvaluation(id: string) {
  return useQuery({
    queryKey: ["evaluation", id],
    queryFn: () =>
      api.get<{ splits: Record<string, SplitReport> }>(`/api/runs/${enc(id)}/evaluation`),
  });
}

// What a value means, in words: clinical readers want "good", not 0.83.
function verdict(value: Num): [string, string] {
  if (value === null) return ["undefined", "muted"];
  if (value >= 0.9) return ["excellent", "ok"];
  if (value >= 0.8) return ["good", "ok"];
  if (value >= 0.7) return ["fair", "warn"];
  return ["poor", "bad"];
}

const fmt = (v: Num | string | undefined) =>
  v === null || v === undefined ? "—" : typeof v === "number" ? v.toFixed(3) : v;

function Roc({ points }: { points: number[][] }) {
  const path = points
    .map(([x = 0, y = 0], i) => `${i ? "L" : "M"}${x * 200},${200 - y * 200}`)
    .join("");
  return (
    <svg viewBox="-10 -10 220 220" className="roc" role="img" aria-label="ROC curve" width="220">
      <rect x="0" y="0" width="200" height="200" fill="none" stroke="currentColor" opacity="0.3" />
      <path d="M0,200L200,0" stroke="currentColor" strokeDasharray="4 4" opacity="0.4" />
      <path d={path} fill="none" stroke="var(--accent, #3b82f6)" strokeWidth="2" />
    </svg>
  );
}

function Split({ name, rep }: { name: string; rep: SplitReport }) {
  const keys = Object.keys(rep.metrics).filter((k) => k !== "recall");
  const rocs = Object.entries(rep.roc ?? {});
  const cols = rep.per_class[0] ? Object.keys(rep.per_class[0]).filter((k) => k !== "class") : [];
  return (
    <div className="eval-split" data-split={name}>
      <h3>
        {name} <span className="muted small">{rep.kind}, n = {rep.n}</span>
        {rep.source_run ? <span className="muted small"> · from run {rep.source_run}</span> : null}
      </h3>
      <div className="cards cards-small">
        {keys.map((k) => {
          const [word, tone] = verdict(rep.metrics[k] ?? null);
          return (
            <div key={k} className={`card tone-${tone}`} data-metric={k}>
              <div className="card-label">{k}</div>
              <div className="card-value tabular">{fmt(rep.metrics[k])}</div>
              <div className="small">{word}</div>
            </div>
          );
        })}
      </div>
      {rep.threshold != null ? (
        <p className="muted small">
          threshold {rep.threshold.toFixed(3)} ({rep.threshold_rule})
        </p>
      ) : null}
      <div className="two-col">
        {rocs[0] ? <Roc points={rocs[0][1]} /> : null}
        {rep.confusion_matrix ? (
          <div className="scroll-x">
          <table className="table confusion" aria-label="Confusion matrix">
            <thead>
              <tr>
                <th>truth \ predicted</th>
                {rep.classes.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rep.confusion_matrix.map((row, i) => (
                <tr key={rep.classes[i]}>
                  <th>{rep.classes[i]}</th>
                  {row.map((v, j) => (
                    <td key={j} className={`tabular ${i === j ? "tone-ok" : v ? "tone-bad" : ""}`}>
                      {v}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          </div>
        ) : null}
      </div>
      <div className="scroll-x">
      <table className="table" aria-label="Per class">
        <thead>
          <tr>
            <th>class</th>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rep.per_class.map((row) => (
            <tr key={String(row.class)}>
              <td>{String(row.class)}</td>
              {cols.map((c) => (
                <td key={c} className="tabular">
                  {fmt(row[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <p className="small" data-testid="worst">
        <span className="muted">Worst scored: </span>
        {rep.worst.slice(0, 10).map((w) => String(w.id)).join(", ")}
      </p>
      {rep.notes.map((n) => (
        <p key={n} className="small tone-warn">
          {n}
        </p>
      ))}
    </div>
  );
}

export function EvaluationPanel({ runId }: { runId: string }) {
  const q = useEvaluation(runId);
  const splits = Object.entries(q.data?.splits ?? {});
  return (
    <Panel title="Evaluation" id="evaluation">
      {q.isPending ? (
        <Loading label="Loading evaluation…" rows={2} />
      ) : q.error ? (
        <ErrorState error={q.error} what="Evaluation" retry={() => void q.refetch()} />
      ) : splits.length === 0 ? (
        <p className="muted">No predictions logged (run.log_predictions).</p>
      ) : (
        splits.map(([name, rep]) => <Split key={name} name={name} rep={rep} />)
      )}
    </Panel>
  );
}
