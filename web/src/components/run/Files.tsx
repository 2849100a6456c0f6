// Checkpoints (with a confirmed delete) and the run dir's files (download links, copyable
// paths).

import { useState } from "react";
import { ApiError, enc } from "../../api/client";
import { useArtifacts, useCheckpoints, useDeleteCheckpoint } from "../../api/hooks";
import type { Run } from "../../api/types";
import { fmtBytes, fmtNumber, fmtTime } from "../../lib/format";
import { Confirm } from "../Confirm";
import { CopyButton } from "../Copy";
import { Empty, ErrorState, Loading, Panel } from "../States";

function joinPath(root: string, rel: string): string {
  return `${root.replace(/\/+$/, "")}/${rel}`;
}

export function CheckpointsPanel({ run }: { run: Run }) {
  const list = useCheckpoints(run.id);
  const remove = useDeleteCheckpoint(run.id);
  const [pending, setPending] = useState<string | null>(null);
  const close = () => {
    setPending(null);
    remove.reset();
  };
  const items = list.data ?? [];
  return (
    <Panel
      title="Checkpoints"
      id="checkpoints"
      actions={
        items.length ? (
          <span className="muted small">
            {items.length} · {fmtBytes(items.reduce((n, c) => n + c.size, 0))}
          </span>
        ) : null
      }
    >
      {list.isPending ? (
        <Loading />
      ) : list.data === undefined && list.isError ? (
        <ErrorState error={list.error} what="Checkpoints" retry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No checkpoints" icon="◇">
          <p>
            A run registers one with <code>run.checkpoint(path)</code>.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table cards-on-phone">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Epoch</th>
                <th scope="col">Step</th>
                <th scope="col">Metrics</th>
                <th scope="col">Size</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((c) => (
                <tr key={c.name} data-checkpoint={c.name}>
                  <td data-label="Name">
                    <code>{c.name}</code>
                    {c.exists === false ? (
                      <span className="badge tone-bad small">
                        <span aria-hidden="true">✕</span>file missing
                      </span>
                    ) : null}
                    <div className="muted small ellipsis" title={c.path}>
                      {c.path}
                    </div>
                  </td>
                  <td data-label="Epoch" className="tabular">
                    {c.epoch ?? "—"}
                  </td>
                  <td data-label="Step" className="tabular">
                    {c.step ?? "—"}
                  </td>
                  <td data-label="Metrics" className="small">
                    {Object.entries(c.metrics).map(([k, v]) => (
                      <div key={k}>
                        <span className="muted">{k}</span> {fmtNumber(v)}
                      </div>
                    ))}
                  </td>
                  <td data-label="Size" className="tabular">
                    {fmtBytes(c.size)}
                  </td>
                  <td data-label="Created" className="small">
                    {fmtTime(c.created_at)}
                  </td>
                  <td className="actions">
                    <a
                      className="btn btn-small btn-ghost"
                      href={`/api/runs/${enc(run.id)}/artifacts/${c.path.split("/").map(enc).join("/")}`}
                      download
                    >
                      Download
                    </a>
                    <button
                      type="button"
                      className="btn btn-small btn-danger-ghost"
                      onClick={() => setPending(c.name)}
                      aria-label={`Delete checkpoint ${c.name}`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Confirm
        open={pending !== null}
        title={`Delete checkpoint ${pending ?? ""}?`}
        body="The file is removed from disk and the record from the run. A retry can no longer resume from it. This cannot be undone."
        busy={remove.isPending}
        error={
          remove.error
            ? remove.error instanceof ApiError && remove.error.status === 405
              ? "This server cannot delete checkpoints yet."
              : remove.error.message
            : null
        }
        onCancel={close}
        onConfirm={() => {
          if (pending) remove.mutate(pending, { onSuccess: () => setPending(null) });
        }}
      />
    </Panel>
  );
}

const KIND_ICON: Record<string, string> = { log: "≡", checkpoint: "◇", artifact: "▣", other: "·" };

export function ArtifactsPanel({ run }: { run: Run }) {
  const tree = useArtifacts(run.id);
  const root = tree.data?.root ?? run.run_dir;
  const files = tree.data?.files ?? [];
  return (
    <Panel
      title="Files"
      id="artifacts"
      actions={
        tree.data ? (
          <span className="muted small">
            {files.length} files · {fmtBytes(tree.data.total_bytes)}
          </span>
        ) : null
      }
    >
      {tree.isPending ? (
        <Loading />
      ) : tree.data === undefined && tree.isError ? (
        <ErrorState error={tree.error} what="Files" retry={() => void tree.refetch()} />
      ) : files.length === 0 ? (
        <Empty title="No files yet" icon="▣">
          <p>
            Logs, checkpoints and artifacts land in <code>{run.run_dir}</code>.
          </p>
        </Empty>
      ) : (
        <ul className="files">
          {files.map((f) => {
            const abs = joinPath(root, f.path);
            const kind = f.kind ?? "other";
            return (
              <li key={f.path} className="file" data-path={f.path}>
                <span className={`file-kind kind-${kind}`} title={kind} aria-hidden="true">
                  {KIND_ICON[kind] ?? "·"}
                </span>
                <div className="min0 grow">
                  <a
                    className="file-name"
                    href={`/api/runs/${enc(run.id)}/artifacts/${f.path.split("/").map(enc).join("/")}`}
                    download={f.path.split("/").pop()}
                  >
                    {f.path}
                  </a>
                  <div className="muted small">
                    {kind}
                    {f.registered ? " · registered" : ""} · {fmtBytes(f.size)}
                    {f.modified_at ? ` · ${fmtTime(f.modified_at)}` : ""}
                  </div>
                </div>
                <CopyButton text={abs} label="Copy path" />
              </li>
            );
          })}
        </ul>
      )}
    </Panel>
  );
}
