// Datasets: the list, then one dataset's versions with their lineage, counts per split and
// class, and the validation report (leaked IDs listed).

import { Link, useParams, useSearchParams } from "react-router";
import { useDataset, useDatasets, useDatasetVersion } from "../api/hooks";
import type {
  DatasetVersion,
  DatasetVersionDetail,
  ReportIssue,
  ValidationBrief,
  ValidationReport,
} from "../api/types";
import { CopyButton } from "../components/Copy";
import { StatusBadge } from "../components/Status";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { fmtAgo, fmtBytes, fmtTime } from "../lib/format";
import { useTitle } from "../lib/hooks";

export function DatasetsPage() {
  const { name } = useParams();
  return name ? <DatasetView name={name} /> : <DatasetList />;
}

const VALIDATION: Record<string, { icon: string; tone: string; word: string }> = {
  ok: { icon: "✓", tone: "ok", word: "valid" },
  warnings: { icon: "!", tone: "warn", word: "warnings" },
  errors: { icon: "✕", tone: "bad", word: "errors" },
};

function ValidationBadge({ v }: { v: ValidationBrief | ValidationReport | null | undefined }) {
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

function DatasetList() {
  useTitle("Datasets");
  const list = useDatasets();
  return (
    <div className="page page-datasets">
      <h1>Datasets</h1>
      {list.isPending ? (
        <Loading rows={4} />
      ) : list.data === undefined && list.isError ? (
        <ErrorState error={list.error} what="Datasets" retry={() => void list.refetch()} />
      ) : list.data.length === 0 ? (
        <Empty title="No datasets yet" icon="▤">
          <p>
            Register one with <code>runyard dataset add NAME PATH</code>; each change becomes a
            new version, validated for leaks and broken files.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table cards-on-phone" data-testid="datasets-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Latest</th>
                <th scope="col">Versions</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.map((d) => (
                <tr key={d.name} data-dataset={d.name}>
                  <td data-label="Name">
                    <Link to={`/datasets/${encodeURIComponent(d.name)}`} className="run-link">
                      {d.name}
                    </Link>
                    {d.description ? <div className="muted small">{d.description}</div> : null}
                  </td>
                  <td data-label="Latest">
                    <code>{d.latest ?? "—"}</code>
                  </td>
                  <td data-label="Versions" className="tabular">
                    {d.version_count}
                  </td>
                  <td data-label="Created" className="small">
                    {fmtAgo(d.created_at)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

function layoutKind(layout: DatasetVersion["layout"]): string | null {
  if (!layout) return null;
  return typeof layout === "string" ? layout : typeof layout.kind === "string" ? layout.kind : null;
}

/** Transform steps as the CLI writes them: `clahe:channel=green,clip=0.01 → resize:512`. */
function stepsText(steps: DatasetVersion["steps"]): string {
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

/** Versions ordered as a tree: each under its parent, roots first. */
function lineage(versions: DatasetVersion[]): { v: DatasetVersion; depth: number }[] {
  const known = new Set(versions.map((v) => v.version));
  const children = new Map<string | null, DatasetVersion[]>();
  for (const v of versions) {
    const p = v.parent && known.has(v.parent) ? v.parent : null;
    children.set(p, [...(children.get(p) ?? []), v]);
  }
  const out: { v: DatasetVersion; depth: number }[] = [];
  const walk = (p: string | null, depth: number) => {
    for (const v of (children.get(p) ?? []).sort((a, b) => a.created_at.localeCompare(b.created_at))) {
      out.push({ v, depth });
      walk(v.version, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}

function DatasetView({ name }: { name: string }) {
  useTitle(name);
  const ds = useDataset(name);
  const [params, setParams] = useSearchParams();
  const versions = ds.data?.versions ?? [];
  const chosen = params.get("v") ?? ds.data?.latest ?? versions[0]?.version ?? null; // newest first
  const detail = useDatasetVersion(name, chosen);
  if (ds.isPending) return <Loading rows={5} />;
  if (ds.data === undefined)
    return (
      <div className="page">
        <ErrorState error={ds.error} what="Dataset" retry={() => void ds.refetch()} />
        <p className="center">
          <Link to="/datasets">All datasets</Link>
        </p>
      </div>
    );
  const tree = lineage(versions);
  return (
    <div className="page page-dataset">
      <nav className="crumbs" aria-label="Breadcrumb">
        <Link to="/datasets">Datasets</Link>
      </nav>
      <div className="page-head">
        <div>
          <h1>{ds.data.name}</h1>
          {ds.data.description ? <p className="muted">{ds.data.description}</p> : null}
        </div>
      </div>
      <Panel title="Versions" id="versions" actions={<span className="muted small">{versions.length}</span>}>
        {tree.length === 0 ? (
          <p className="muted">No versions yet.</p>
        ) : (
          <ul className="lineage" aria-label="Versions and their lineage">
            {tree.map(({ v, depth }) => (
              <li key={v.version} style={{ ["--depth" as string]: depth }} data-version={v.version}>
                <button
                  type="button"
                  className={`lineage-item${v.version === chosen ? " current" : ""}`}
                  aria-current={v.version === chosen ? "true" : undefined}
                  onClick={() => setParams({ v: v.version }, { replace: true })}
                >
                  <span className="lineage-branch" aria-hidden="true">
                    {depth ? "└─" : "●"}
                  </span>
                  <code>{v.version}</code>
                  <ValidationBadge v={v.validation} />
                  <span className="muted small">
                    {v.parent ? `from ${v.parent}${v.steps?.length ? ` by ${stepsText(v.steps)}` : ""} · ` : ""}
                    {v.file_count.toLocaleString()} files · {fmtBytes(v.total_bytes)} · {fmtAgo(v.created_at)}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </Panel>
      {chosen ? (
        detail.isPending ? (
          <Loading rows={4} />
        ) : detail.data === undefined && detail.isError ? (
          <ErrorState error={detail.error} what="Version" retry={() => void detail.refetch()} />
        ) : (
          <>
            <CountsPanel counts={detail.data.counts ?? detail.data.report?.counts ?? {}} version={detail.data} />
            <ReportPanel report={detail.data.report} />
            <UsedBy version={detail.data} />
          </>
        )
      ) : null}
    </div>
  );
}

function CountsPanel({ counts, version }: { counts: Record<string, Record<string, number>>; version: DatasetVersion }) {
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

function UsedBy({ version }: { version: DatasetVersionDetail }) {
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

function ReportPanel({ report }: { report: ValidationReport | null }) {
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
