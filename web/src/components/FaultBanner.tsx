// A banner while the server reports a full disk or a busy database (from /api/health).

import { useQuery } from "@tanstack/react-query";
import { api } from "../api/client";

type Health = { status: string; version: string; faults?: Record<string, string> };

const TITLES: Record<string, string> = {
  insufficient_storage: "The disk is full.",
  database_busy: "The database is busy.",
};

export function FaultBanner() {
  const { data } = useQuery({
    queryKey: ["health"],
    queryFn: () => api.get<Health>("/api/health"),
    refetchInterval: 5000,
  });
  const faults = Object.entries(data?.faults ?? {}).filter(([code]) => code in TITLES);
  if (faults.length === 0) return null;
  return (
    <div className="offline-banner" role="alert" data-error="fault">
      {faults.map(([code, message]) => (
        <div key={code} data-fault={code}>
          <strong>{TITLES[code]}</strong> {message}
        </div>
      ))}
    </div>
  );
}
