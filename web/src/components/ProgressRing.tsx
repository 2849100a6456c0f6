// A ring for percent done; the number sits inside it, so the ring is decoration.

export function ProgressRing({
  percent,
  size = 44,
  tone = "info",
  label,
}: {
  percent: number;
  size?: number;
  tone?: string;
  label?: string;
}) {
  const stroke = size >= 60 ? 6 : 4;
  const r = (size - stroke) / 2;
  const c = 2 * Math.PI * r;
  const p = Math.max(0, Math.min(100, percent));
  return (
    <span
      className={`ring tone-${tone}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.round(p)}
      aria-label={label ?? "progress"}
      style={{ width: size, height: size }}
    >
      <svg width={size} height={size} viewBox={`0 0 ${size} ${size}`} aria-hidden="true">
        <circle className="ring-track" cx={size / 2} cy={size / 2} r={r} strokeWidth={stroke} />
        <circle
          className="ring-fill"
          cx={size / 2}
          cy={size / 2}
          r={r}
          strokeWidth={stroke}
          strokeDasharray={c}
          strokeDashoffset={c * (1 - p / 100)}
          transform={`rotate(-90 ${size / 2} ${size / 2})`}
        />
      </svg>
      <span className="ring-text" style={{ fontSize: size >= 60 ? 15 : p >= 99.5 ? 9.5 : 11 }}>
        {Math.floor(p)}%
      </span>
    </span>
  );
}

export function ProgressBar({ percent, tone = "info" }: { percent: number; tone?: string }) {
  const p = Math.max(0, Math.min(100, percent));
  return (
    <span className={`bar tone-${tone}`} aria-hidden="true">
      <span className="bar-fill" style={{ width: `${p}%` }} />
    </span>
  );
}
