// Mission control: the machine's health, the queue at a glance, the newest runs.

import { Link } from "react-router";
import { useProgress, useQueue, useRecentRuns, useSystem } from "../api/hooks";
import type { Health, Queue, Run, SystemInfo } from "../api/types";
import { ClusterPanel } from "../components/ClusterPanel";
import { HostHistoryPanel } from "../components/HostHistory";
import { ProgressBar, ProgressRing } from "../components/ProgressRing";
import { HealthBadge, StatusBadge, healthTone, statusTone } from "../components/Status";
import { Empty, ErrorState, Loading, Panel } from "../components/States";
import { fmtAgo, fmtBytes, fmtDuration, isTerminal, runDuration, runPercent } from "../lib/format";
import { useNow, useTitle } from "../lib/hooks";

export function OverviewPage() {
  useTitle("Overview");
  return (
    <div className="page page-overview">
      <h1>Mission control</h1>
      <SystemPanel />
      <ClusterPanel />
      <HostHistoryPanel />
      <QueuePanel />
      <RecentPanel />
    </div>
  );
}

function Meter({
  label,
  percent,
  status,
  detail,
}: {
  label: string;
  percent: number | null;
  status: Health;
  detail: string;
}) {
  return (
    <div className={`card meter tone-${healthTone(status)}`} data-meter={label}>
      <div className="row between">
        <span className="card-label">{label}</span>
        <HealthBadge status={status} />
      </div>
      <div className="card-value tabular">{percent == null ? "—" : `${Math.round(percent)}%`}</div>
      <ProgressBar percent={percent ?? 0} tone={healthTone(status)} />
      <div className="muted small">{detail}</div>
    </div>
  );
}

function SystemCards({ s }: { s: SystemInfo }) {
  return (
    <div className="cards">
      <Meter
        label="CPU"
        percent={s.cpu.percent}
        status={s.cpu.status}
        detail={`${s.cpu.count} cores · load ${s.cpu.load.map((l) => l.toFixed(2)).join(" ")}`}
      />
      <Meter
        label="Memory"
        percent={s.memory.percent}
        status={s.memory.status}
        detail={`${fmtBytes(s.memory.used)} of ${fmtBytes(s.memory.total)}`}
      />
      <Meter
        label="Disk"
        percent={s.disk.percent}
        status={s.disk.status}
        detail={`${fmtBytes(s.disk.free)} free on ${s.disk.path}`}
      />
      {s.gpus.length === 0 ? (
        <div className="card meter tone-muted" data-meter="GPU">
          <span className="card-label">GPUs</span>
          <div className="card-value">none</div>
          <div className="muted small">No NVIDIA GPU found: jobs run on the CPU.</div>
        </div>
      ) : (
        s.gpus.map((g) => (
          <Meter
            key={g.index}
            label={`GPU ${g.index}`}
            percent={g.utilization}
            status={g.status}
            detail={`${g.name} · ${fmtBytes(g.memory_used)}/${fmtBytes(g.memory_total)}${g.temperature != null ? ` · ${g.temperature}°C` : ""}${g.memory_errors ? ` · ${g.memory_errors} memory errors` : ""}`}
          />
        ))
      )}
    </div>
  );
}

function SystemPanel() {
  const system = useSystem();
  return (
    <Panel
      title="System"
      id="system"
      actions={
        system.data ? (
          <span className="row gap">
            <HealthBadge status={system.data.status} />
            <span className="muted small">up {fmtDuration(system.data.uptime_s)}</span>
          </span>
        ) : null
      }
    >
      {system.isPending ? (
        <Loading rows={2} />
      ) : system.data === undefined && system.isError ? (
        <ErrorState error={system.error} what="System health" retry={() => void system.refetch()} />
      ) : (
        <SystemCards s={system.data} />
      )}
    </Panel>
  );
}

const GROUPS = [
  { key: "active", label: "Active", icon: "▶", tone: "info" },
  { key: "queued", label: "Queued", icon: "◷", tone: "muted" },
  { key: "completed", label: "Completed", icon: "✓", tone: "ok" },
  { key: "failed", label: "Failed", icon: "✕", tone: "bad" },
  { key: "cancelled", label: "Cancelled", icon: "⊘", tone: "muted" },
  { key: "pruned", label: "Pruned", icon: "✂", tone: "muted" },
] as const;

const GROUP_STATUS: Record<(typeof GROUPS)[number]["key"], string> = {
  active: "starting,running",
  queued: "queued,retrying",
  completed: "completed",
  failed: "failed",
  cancelled: "cancelled",
  pruned: "pruned",
};

function QueuePanel() {
  const queue = useQueue();
  return (
    <Panel title="Queue" id="queue" actions={<Link to="/runs">All runs →</Link>}>
      {queue.isPending ? (
        <Loading rows={3} />
      ) : queue.data === undefined && queue.isError ? (
        <ErrorState error={queue.error} what="Queue" retry={() => void queue.refetch()} />
      ) : (
        <QueueColumns queue={queue.data} />
      )}
    </Panel>
  );
}

function QueueColumns({ queue }: { queue: Queue }) {
  return (
    <div className="queue">
      {GROUPS.map((g) => {
        const runs = queue[g.key] ?? [];
        const count = queue.counts[g.key];
        // An older server counts cancelled with failed; pruned exists only where sweeps do.
        if (count === undefined || (g.key === "pruned" && count === 0)) return null;
        return (
          <section key={g.key} className={`queue-col tone-${g.tone}`} aria-label={`${g.label} runs`} data-group={g.key}>
            <h3 className="queue-head">
              <span aria-hidden="true">{g.icon}</span> {g.label}
              <span className="count tabular" data-testid={`count-${g.key}`}>
                {count}
              </span>
            </h3>
            {runs.length === 0 ? (
              <p className="muted small queue-empty">none</p>
            ) : (
              <ul className="queue-list">
                {runs.slice(0, 6).map((r) => (
                  <li key={r.id}>
                    <Link to={`/runs/${r.id}`} className="queue-card">
                      <span className="ellipsis">{r.name}</span>
                      <span className="muted small">
                        {g.key === "active"
                          ? `${Math.floor(runPercent(r))}%`
                          : g.key === "queued"
                            ? r.status === "retrying"
                              ? "retrying"
                              : fmtAgo(r.created_at)
                            : r.early_stopped
                              ? "early-stopped"
                              : g.key === "failed" || g.key === "cancelled" || g.key === "pruned"
                                ? r.status
                                : fmtAgo(r.ended_at)}
                      </span>
                    </Link>
                  </li>
                ))}
                {count > 6 ? (
                  <li className="muted small">
                    <Link to={`/runs?status=${GROUP_STATUS[g.key]}`}>
                      +{count - 6} more
                    </Link>
                  </li>
                ) : null}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}

function RecentPanel() {
  const recent = useRecentRuns(8);
  return (
    <Panel title="Recent runs" id="recent">
      {recent.isPending ? (
        <Loading rows={4} />
      ) : recent.data === undefined && recent.isError ? (
        <ErrorState error={recent.error} what="Runs" retry={() => void recent.refetch()} />
      ) : recent.data.runs.length === 0 ? (
        <Empty title="No runs yet" icon="▶">
          <p>
            Start one with <code>runyard submit -- python train.py</code> or <code>make demo</code>.
          </p>
        </Empty>
      ) : (
        <ul className="recent">
          {recent.data.runs.map((r) => (
            <RecentCard key={r.id} run={r} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

function RecentCard({ run }: { run: Run }) {
  const active = !isTerminal(run.status) && run.status !== "queued";
  const progress = useProgress(run.id, active);
  const now = useNow(1000);
  const pct = runPercent(run);
  const eta = progress.data?.eta_s;
  return (
    <li className="recent-card" data-run-id={run.id}>
      <ProgressRing percent={pct} tone={statusTone(run.status)} label={`${run.name} progress`} />
      <div className="min0 grow">
        <Link to={`/runs/${run.id}`} className="run-link ellipsis">
          {run.name}
        </Link>
        <div className="row gap wrap small">
          <StatusBadge status={run.status} early={run.early_stopped} />
          <span className="muted">{run.experiment}</span>
        </div>
      </div>
      <div className="recent-meta small tabular">
        <div>{fmtDuration(runDuration(run, now))}</div>
        <div className="muted">{active ? (eta != null ? `ETA ${fmtDuration(eta)}` : "ETA —") : fmtAgo(run.ended_at ?? run.created_at, now)}</div>
      </div>
    </li>
  );
}
