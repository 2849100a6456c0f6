// Datasets: the list, then one dataset's versions with their lineage, counts per split and
// class, and the validation report (leaked IDs listed).

import { Link, useParams, useSearchParams } from "react-router";
import { useDataset, useDatasets, useDatasetVersion } from "../api/hooks";
import type { DatasetVersion } from "../api/types";
import {
  CountsPanel,
  ReportPanel,
  UsedBy,
  ValidationBadge,
  stepsText,
} from "../components/datasets/Version";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { fmtAgo, fmtBytes } from "../lib/format";
import { useTitle } from "../lib/hooks";

export function DatasetsPage() {
  const { name } = useParams();
  return name ? <DatasetView name={name} /> : <DatasetList />;
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
