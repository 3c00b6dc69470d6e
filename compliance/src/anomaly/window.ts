// Sliding time windows per key (campaign, actor) for the threshold rules. Copy-on-write, so
// rules stay pure; after an alert a key is quiet for one window so one burst raises one alert.

export interface WindowPoint {
  at: number;
  weight: number;
}

interface KeyWindow {
  points: readonly WindowPoint[];
  quietUntil: number;
}

export type Windows = ReadonlyMap<string, KeyWindow>;

export interface WindowResult {
  windows: Windows;
  /** The key's points after this one, when `exceeded` said so and the key was not quiet. */
  fired?: readonly WindowPoint[];
}

// Beyond this many keys, keys with nothing left in their window are dropped on the next step.
const PRUNE_ABOVE = 1000;

export function addToWindow(
  windows: Windows,
  key: string,
  point: WindowPoint,
  windowMs: number,
  exceeded: (points: readonly WindowPoint[]) => boolean,
): WindowResult {
  const since = point.at - windowMs;
  const old = windows.get(key);
  const points = [...(old?.points ?? []).filter((p) => p.at > since), point];
  const fire = exceeded(points) && point.at >= (old?.quietUntil ?? -Infinity);
  const next = new Map(windows);
  if (next.size > PRUNE_ABOVE)
    for (const [k, w] of next) if (w.points.every((p) => p.at <= since) && w.quietUntil <= point.at) next.delete(k);
  next.set(key, { points, quietUntil: fire ? point.at + windowMs : (old?.quietUntil ?? -Infinity) });
  return fire ? { windows: next, fired: points } : { windows: next };
}

export const totalWeight = (points: readonly WindowPoint[]): number => points.reduce((n, p) => n + p.weight, 0);

export const minutes = (ms: number): string => `${+(ms / 60_000).toFixed(1)} min`;
