// Metric instruments whose label keys are fixed when they are defined (the type says which,
// and only those are exported) and whose label values pass the personal-data guard.
import type { Attributes, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import { guardValue } from './guard.ts';

export type Labels<L extends string> = Readonly<Record<L, string>>;

export interface InstrumentSpec<L extends string> {
  description: string;
  unit?: string;
  /** The only label keys this metric has (Prometheus label names: snake_case). */
  labels: readonly L[];
}

const MAX_CACHED_LABEL_SETS = 10_000;

/**
 * Turns a label record into guarded attributes, remembering recent sets so the hot path
 * pays no regex and no allocation. Two label sets redacted alike share one id (one series).
 */
export class LabelGuard<L extends string> {
  private readonly cache = new Map<string, { id: string; attributes: Attributes }>();
  constructor(private readonly keys: readonly L[]) {}

  resolve(labels: Labels<L>): { id: string; attributes: Attributes } {
    let raw = '';
    for (const k of this.keys) raw += `${labels[k]}\u0001`;
    let resolved = this.cache.get(raw);
    if (!resolved) {
      const attributes: Attributes = {};
      let id = '';
      for (const k of this.keys) {
        const v = guardValue(String(labels[k] ?? ''), 'metric');
        attributes[k] = v;
        id += `${v}\u0001`;
      }
      resolved = { id, attributes: Object.freeze(attributes) };
      if (this.cache.size >= MAX_CACHED_LABEL_SETS) this.cache.clear();
      this.cache.set(raw, resolved);
    }
    return resolved;
  }

  attributes(labels: Labels<L>): Attributes {
    return this.resolve(labels).attributes;
  }
}

export interface GuardedCounter<L extends string> {
  add(value: number, labels: Labels<L>): void;
}

export function guardedCounter<L extends string>(
  meter: Meter,
  name: string,
  spec: InstrumentSpec<L>,
): GuardedCounter<L> {
  const counter = meter.createCounter(name, { description: spec.description, unit: spec.unit });
  const guard = new LabelGuard(spec.labels);
  return { add: (value, labels) => counter.add(value, guard.attributes(labels)) };
}

export interface GuardedHistogram<L extends string> {
  record(value: number, labels: Labels<L>): void;
}

export function guardedHistogram<L extends string>(
  meter: Meter,
  name: string,
  spec: InstrumentSpec<L> & { buckets?: number[] },
): GuardedHistogram<L> {
  const histogram = meter.createHistogram(name, {
    description: spec.description,
    unit: spec.unit,
    advice: spec.buckets ? { explicitBucketBoundaries: spec.buckets } : undefined,
  });
  const guard = new LabelGuard(spec.labels);
  return { record: (value, labels) => histogram.record(value, guard.attributes(labels)) };
}

/** A gauge holding the last value set for each label set until it is deleted (observed at collection). */
export interface GuardedGauge<L extends string> {
  set(labels: Labels<L>, value: number): void;
  delete(labels: Labels<L>): void;
  clear(): void;
  /** Stops observing (the instrument stays registered, reporting nothing). */
  close(): void;
}

export function guardedGauge<L extends string>(meter: Meter, name: string, spec: InstrumentSpec<L>): GuardedGauge<L> {
  const gauge: ObservableGauge = meter.createObservableGauge(name, {
    description: spec.description,
    unit: spec.unit,
  });
  const guard = new LabelGuard(spec.labels);
  const values = new Map<string, { attrs: Attributes; value: number }>();
  const observe = (result: ObservableResult): void => {
    for (const { attrs, value } of values.values()) result.observe(value, attrs);
  };
  gauge.addCallback(observe);
  return {
    set: (labels, value) => {
      const { id, attributes } = guard.resolve(labels);
      values.set(id, { attrs: attributes, value });
    },
    delete: (labels) => values.delete(guard.resolve(labels).id),
    clear: () => values.clear(),
    close: () => {
      values.clear();
      gauge.removeCallback(observe);
    },
  };
}

/** A gauge read from `read()` at each collection (pool sizes, utilisation), without labels. */
export function observedGauge(
  meter: Meter,
  name: string,
  spec: { description: string; unit?: string },
  read: () => number | undefined,
): { close(): void } {
  const gauge = meter.createObservableGauge(name, spec);
  const observe = (result: ObservableResult): void => {
    const v = read();
    if (v !== undefined && Number.isFinite(v)) result.observe(v);
  };
  gauge.addCallback(observe);
  return { close: () => gauge.removeCallback(observe) };
}
