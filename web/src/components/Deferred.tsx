// Renders its children once they come near the viewport: panels below the fold then neither
// cost render time nor requests before the charts paint. A link to a section (the URL's hash)
// renders them all at once, so that the layout is final before the page scrolls to it.

import { type ReactNode, useEffect, useRef, useState } from "react";

export function Deferred({
  id,
  minHeight = 160,
  children,
}: {
  id: string;
  minHeight?: number;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [shown, setShown] = useState(() => window.location.hash.length > 1);
  useEffect(() => {
    if (shown) return;
    const el = ref.current;
    if (!el || typeof IntersectionObserver === "undefined") {
      setShown(true);
      return;
    }
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) setShown(true);
      },
      { rootMargin: "300px 0px" },
    );
    io.observe(el);
    const onHash = () => window.location.hash.length > 1 && setShown(true);
    window.addEventListener("hashchange", onHash);
    return () => {
      io.disconnect();
      window.removeEventListener("hashchange", onHash);
    };
  }, [id, shown]);
  useEffect(() => {
    const target = window.location.hash.slice(1);
    if (shown && target) document.getElementById(decodeURIComponent(target))?.scrollIntoView();
  }, [shown]);
  if (shown) return <>{children}</>;
  return <div ref={ref} id={id} className="deferred" style={{ minHeight }} aria-busy="true" />;
}
