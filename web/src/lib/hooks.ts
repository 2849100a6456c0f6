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

/** The width of an element's content box, measured before the first paint (so that what
 * depends on it starts at once) and followed as it resizes. */
export function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth - padding(el));
    const ro = new ResizeObserver(([e]) => {
      if (e) setWidth(e.contentRect.width);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

function padding(el: HTMLElement): number {
  const style = getComputedStyle(el);
  return parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
}

/** Points to read for a chart `width` px wide: about one per pixel, in steps of 50 so that
 * small resizes do not read again. */
export function pointsFor(width: number): number {
  return Math.max(100, Math.min(4000, Math.ceil(width / 50) * 50));
}

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · runyard` : "runyard";
  }, [title]);
}
