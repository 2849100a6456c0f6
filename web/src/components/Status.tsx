// Status shown with an icon and a word, never by colour alone.

import type { Health, RunStatus } from "../api/types";

const RUN: Record<RunStatus, { icon: string; tone: string }> = {
  queued: { icon: "◷", tone: "muted" },
  starting: { icon: "↻", tone: "info" },
  running: { icon: "▶", tone: "info" },
  retrying: { icon: "↺", tone: "warn" },
  completed: { icon: "✓", tone: "ok" },
  failed: { icon: "✕", tone: "bad" },
  cancelled: { icon: "⊘", tone: "muted" },
  pruned: { icon: "✂", tone: "muted" },
};

export function statusTone(status: string): string {
  return RUN[status as RunStatus]?.tone ?? "muted";
}

export function StatusBadge({ status, early }: { status: string; early?: boolean }) {
  const meta = RUN[status as RunStatus] ?? { icon: "•", tone: "muted" };
  return (
    <span className={`badge tone-${meta.tone}`} data-status={status}>
      <span aria-hidden="true" className={status === "running" ? "pulse" : undefined}>
        {meta.icon}
      </span>
      {status}
      {early ? <span className="badge-extra"> · early-stopped</span> : null}
    </span>
  );
}

const HEALTH: Record<Health, { icon: string; tone: string; word: string }> = {
  healthy: { icon: "✓", tone: "ok", word: "Healthy" },
  warning: { icon: "!", tone: "warn", word: "Warning" },
  critical: { icon: "✕", tone: "bad", word: "Critical" },
};

export function HealthBadge({ status }: { status: Health }) {
  const meta = HEALTH[status] ?? HEALTH.warning;
  return (
    <span className={`badge tone-${meta.tone}`} data-health={status}>
      <span aria-hidden="true">{meta.icon}</span>
      {meta.word}
    </span>
  );
}

export function healthTone(status: Health): string {
  return HEALTH[status]?.tone ?? "warn";
}
