// The parts of a dataset version's page: its counts, its validation report, who used it.

import { Link } from "react-router";
import type {
  DatasetVersion,
  DatasetVersionDetail,
  ReportIssue,
  ValidationBrief,
  ValidationReport,
} from "../../api/types";
import { fmtTime } from "../../lib/format";
import { CopyButton } from "../Copy";
import { StatusBadge } from "../Status";
import { Panel } from "../States";

const VALIDATION: Record<string, { icon: string; tone: string; word: string }> = {
  ok: { icon: "✓", tone: "ok", word: "valid" },
  warnings: { icon: "!", tone: "warn", word: "warnings" },
  errors: { icon: "✕", tone: "bad", word: "errors" },
};

export function ValidationBadge({ v }: { v: ValidationBrief | ValidationReport | null | undefined }) {
  if (!v) return <span className="badge tone-muted">not validated</span>;
  const meta = VALIDATION[v.status] ?? VALIDATION.warnings!;
  const errors = typeof v.errors === "number" ? v.errors : v.errors.length;
  const warnings = typeof v.warnings === "number" ? v.warnings : v.warnings.length;
  return (
    <span className={`badge tone-${meta.tone}`} data-validation={v.status}>
      <span aria-hidden="true">{meta.icon}</span>
      {meta.word}
      {errors || warnings ? (
        <span className="badge-extra">
          {" "}
          · {errors} error{errors === 1 ? "" : "s"}, {warnings} warning{warnings === 1 ? "" : "s"}
        </span>
      ) : null}
    </span>
  );
}

export function layoutKind(layout: DatasetVersion["layout"]): string | null {
  if (!layout) return null;
  return typeof layout === "string" ? layout : typeof layout.kind === "string" ? layout.kind : null;
}

/** Transform steps as the CLI writes them: `clahe:channel=green,clip=0.01 → resize:512`. */
export function stepsText(steps: DatasetVersion["steps"]): string {
  return (steps ?? [])
    .map((step) => {
      const args = Object.entries(step)
        .filter(([k]) => k !== "op")
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("x") : String(v)}`)
        .join(",");
      return args ? `${step.op}:${args}` : step.op;
    })
    .join(" → ");
}

export function CountsPanel({ counts, version }: { counts: Record<string, Record<string, number>>; version: DatasetVersion }) {
  const order = ["train", "val", "valid", "validation", "test"];
  const rank = (s: string) => (order.includes(s) ? order.indexOf(s) : order.length);
  const splits = Object.keys(counts).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const classes = [...new Set(splits.flatMap((s) => Object.keys(counts[s] ?? {})))].sort();
  const max = Math.max(1, ...splits.flatMap((s) => Object.values(counts[s] ?? {})));
  return (
    <Panel
      title={`Counts · ${version.version}`}
      id="counts"
      actions={
        <span className="muted small">
          {layoutKind(version.layout) ? `${layoutKind(version.layout)} layout · ` : ""}created{" "}
          {fmtTime(version.created_at)}
        </span>
      }
    >
      {splits.length === 0 ? (
        <p className="muted">No counts recorded for this version.</p>
      ) : (
        <div className="table-wrap scroll-x">
          <table className="table matrix counts" data-testid="counts-table">
            <thead>
              <tr>
                <th scope="col">Class</th>
                {splits.map((s) => (
                  <th key={s} scope="col">
                    {s}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {classes.map((c) => (
                <tr key={c}>
                  <th scope="row">{c}</th>
                  {splits.map((s) => {
                    const n = counts[s]?.[c] ?? 0;
                    return (
                      <td key={s} className="tabular">
                        <span className="count-bar" style={{ width: `${(80 * n) / max}%` }} aria-hidden="true" />
                        <span className="count-n">{n.toLocaleString()}</span>
                      </td>
                    );
                  })}
                </tr>
              ))}
              <tr className="total">
                <th scope="row">total</th>
                {splits.map((s) => (
                  <td key={s} className="tabular">
                    <strong>{Object.values(counts[s] ?? {}).reduce((a, b) => a + b, 0).toLocaleString()}</strong>
                  </td>
                ))}
              </tr>
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}

export function UsedBy({ version }: { version: DatasetVersionDetail }) {
  const runs = version.runs ?? [];
  return (
    <Panel title="Used by" id="used-by" actions={<span className="muted small">{runs.length} runs</span>}>
      {runs.length === 0 ? (
        <p className="muted">
          No run declared this version yet (<code>run.use_dataset("{version.dataset ?? "NAME"}@{version.version}")</code>).
        </p>
      ) : (
        <ul className="queue-list">
          {runs.map((r) => (
            <li key={r.id}>
              <Link to={`/runs/${r.id}`} className="queue-card">
                <span className="ellipsis">{r.name}</span>
                <StatusBadge status={r.status} />
              </Link>
            </li>
          ))}
        </ul>
      )}
      {version.path ? (
        <p className="muted small path-line">
          <span>Files on the server</span> <code>{version.path}</code> <CopyButton text={version.path} label="Copy path" />
        </p>
      ) : null}
    </Panel>
  );
}

function Issue({ issue, tone }: { issue: ReportIssue; tone: "bad" | "warn" }) {
  const files = issue.files ?? [];
  return (
    <li className={`issue tone-${tone}`} data-check={issue.check}>
      <div className="row gap wrap">
        <span className={`badge tone-${tone}`}>
          <span aria-hidden="true">{tone === "bad" ? "✕" : "!"}</span>
          {tone === "bad" ? "error" : "warning"}
        </span>
        <code>{issue.check}</code>
      </div>
      <p>{issue.message}</p>
      {issue.hint ? (
        <p className="hint small">
          <span aria-hidden="true">→ </span>
          {issue.hint}
        </p>
      ) : null}
      {files.length ? (
        <details>
          <summary className="small">
            {(issue.count ?? files.length).toLocaleString()} file{(issue.count ?? files.length) === 1 ? "" : "s"}
            {issue.count && issue.count > files.length ? ` (first ${files.length} listed)` : ""}
          </summary>
          <ul className="mono-list small">
            {files.slice(0, 200).map((f) => (
              <li key={f}>
                <code>{f}</code>
              </li>
            ))}
            {files.length > 200 ? <li className="muted">… {files.length - 200} more</li> : null}
          </ul>
        </details>
      ) : null}
    </li>
  );
}

export function ReportPanel({ report }: { report: ValidationReport | null }) {
  const leaked = report?.leaked_ids ?? [];
  return (
    <Panel title="Validation report" id="report" actions={report ? <ValidationBadge v={report} /> : null}>
      {!report ? (
        <p className="muted">
          This version has not been validated: <code>runyard dataset validate NAME VERSION</code>.
        </p>
      ) : (
        <>
          {report.errors.length === 0 && report.warnings.length === 0 ? (
            <p className="tone-ok-text">
              <span aria-hidden="true">✓ </span>Every check passed.
            </p>
          ) : (
            <ul className="issues">
              {report.errors.map((e, i) => (
                <Issue key={`e${i}`} issue={e} tone="bad" />
              ))}
              {report.warnings.map((w, i) => (
                <Issue key={`w${i}`} issue={w} tone="warn" />
              ))}
            </ul>
          )}
          <h3 className="group-title">
            Leaked IDs <span className="muted small">{leaked.length}</span>
          </h3>
          {leaked.length === 0 ? (
            <p className="muted small">No sample appears in more than one split.</p>
          ) : (
            <ul className="leaked mono-list" data-testid="leaked-ids">
              {leaked.map((id) => (
                <li key={id}>
                  <code>{id}</code>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </Panel>
  );
}
