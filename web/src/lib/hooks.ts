// Small React hooks shared by pages.

import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from "react";

/** The current time, refreshed every `ms`: durations of running runs tick. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function useMediaQuery(query: string): boolean {
  return useSyncExternalStore(
    (fn) => {
      const m = window.matchMedia(query);
      m.addEventListener("change", fn);
      return () => m.removeEventListener("change", fn);
    },
    () => window.matchMedia(query).matches,
  );
}

/** The width of an element, rounded to `step` px so that small resizes do not refetch.
 * Measured before the first paint, so that what depends on it starts at once. */
export function useWidth<T extends HTMLElement>(step = 1): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const round = (w: number) => Math.max(step, Math.round(w / step) * step);
    setWidth(round(el.getBoundingClientRect().width));
    const ro = new ResizeObserver(([e]) => {
      if (e) setWidth(round(e.contentRect.width));
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, [step]);
  return [ref, width];
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · runyard` : "runyard";
  }, [title]);
}
