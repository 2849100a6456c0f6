// The log of an attempt: its tail, then, while following, new text as it is written (the logs
// SSE stream; polling by offset where the stream is unavailable).

import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { api, enc, qs } from "../../api/client";
import { useAttempts } from "../../api/hooks";
import type { LogChunk, Run } from "../../api/types";
import { isTerminal } from "../../lib/format";
import { Panel } from "../States";

const TAIL = 1000;
const KEEP = 1_000_000; // characters kept on screen; older text is dropped

function clip(text: string): string {
  if (text.length <= KEEP) return text;
  const cut = text.indexOf("\n", text.length - KEEP);
  return text.slice(cut < 0 ? text.length - KEEP : cut + 1);
}

type Mode = "idle" | "stream" | "poll" | "snapshot" | "error";

export function LogTail({ run }: { run: Run }) {
  const attempts = useAttempts(run.id);
  const latest = attempts.data?.at(-1)?.number ?? null;
  const [chosen, setChosen] = useState<number | null>(null);
  const attempt = chosen ?? latest;
  const [follow, setFollow] = useState(!isTerminal(run.status));
  const [text, setText] = useState("");
  const [ended, setEnded] = useState(false);
  const [mode, setMode] = useState<Mode>("idle");
  const [error, setError] = useState<string | null>(null);
  const pre = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    if (attempt === null) return;
    let cancelled = false;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let offset = 0;
    setText("");
    setEnded(false);
    setError(null);
    stick.current = true;
    const base = `/api/runs/${enc(run.id)}/logs`;

    const poll = async (first: boolean) => {
      try {
        const chunk = await api.get<LogChunk>(
          base + qs({ attempt, ...(first ? { tail: TAIL } : { offset }) }),
        );
        if (cancelled) return;
        setText((prev) => clip(first ? chunk.text : prev + chunk.text));
        offset = chunk.offset;
        setEnded(chunk.ended);
        setError(null);
        if (follow && !chunk.ended) timer = setTimeout(() => void poll(false), 1000);
      } catch (e) {
        if (cancelled) return;
        setError(e instanceof Error ? e.message : String(e));
        if (follow) timer = setTimeout(() => void poll(first), 3000);
      }
    };

    if (!follow) {
      setMode("snapshot");
      void poll(true);
    } else {
      setMode("stream");
      let got = false;
      source = new EventSource(`${base}/stream${qs({ attempt, tail: TAIL })}`);
      source.addEventListener("log", (e) => {
        got = true;
        const data = JSON.parse((e as MessageEvent<string>).data) as { text: string; offset: number };
        offset = data.offset;
        setText((prev) => clip(prev + data.text));
      });
      source.addEventListener("end", () => {
        setEnded(true);
        source?.close();
      });
      source.onerror = () => {
        source?.close();
        if (cancelled) return;
        setMode("poll"); // no stream on this server, or it dropped: go on by offset
        void poll(!got);
      };
    }
    return () => {
      cancelled = true;
      source?.close();
      if (timer) clearTimeout(timer);
    };
  }, [run.id, attempt, follow]);

  useLayoutEffect(() => {
    const el = pre.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [text]);

  const lines = text ? text.split("\n").length - (text.endsWith("\n") ? 1 : 0) : 0;
  return (
    <Panel
      title="Logs"
      id="logs"
      actions={
        <div className="row gap wrap">
          {attempts.data && attempts.data.length > 1 ? (
            <label className="field inline">
              <span className="small muted">Attempt</span>
              <select
                value={attempt ?? ""}
                onChange={(e) => setChosen(e.target.value ? Number(e.target.value) : null)}
              >
                {attempts.data.map((a) => (
                  <option key={a.number} value={a.number}>
                    {a.number} · {a.status}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <label className="switch">
            <input
              type="checkbox"
              checked={follow}
              onChange={(e) => setFollow(e.target.checked)}
              data-testid="log-follow"
            />
            <span>Follow</span>
          </label>
        </div>
      }
    >
      {attempt === null ? (
        <p className="muted">
          {attempts.isPending
            ? "Loading…"
            : run.status === "queued"
              ? "No log yet: the run is waiting in the queue."
              : "No log: runyard did not launch this run (tracked only)."}
        </p>
      ) : (
        <>
          <pre
            ref={pre}
            className="log"
            tabIndex={0}
            aria-label={`Log of attempt ${attempt}`}
            data-testid="log"
            onScroll={(e) => {
              const el = e.currentTarget;
              stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
            }}
          >
            {text || <span className="muted">(empty so far)</span>}
          </pre>
          <p className="muted small log-status" aria-live="polite">
            attempt {attempt} · {lines.toLocaleString()} lines
            {ended ? " · ended" : follow ? (mode === "poll" ? " · following (polling)" : " · following") : " · paused"}
            {error ? ` · ${error}` : ""}
          </p>
        </>
      )}
    </Panel>
  );
}
