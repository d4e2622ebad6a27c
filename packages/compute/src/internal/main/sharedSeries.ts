/**
 * Metric series that several pools may feed at once. A metric registry holds one entry per series (metric id and
 * attributes): two pools registering the same series would overwrite each other, and the first to close would take
 * the other's series with it. Here each series is registered once per registry, reads the sum (or the combination
 * its kind needs) of every live source, and leaves the registry only when its last source does.
 */
import * as Context from "effect/Context"
import * as Metric from "effect/Metric"

/** How the states of one series' sources make the series' state. */
export type Combine<State> = (states: ReadonlyArray<State>) => State

interface Series<State> {
  readonly sources: Set<() => State>
  readonly registration: Metric.Registration
}

const byRegistry = new WeakMap<object, Map<string, Series<any>>>()

/**
 * Adds a source to the series of `metric` with `attributes` (on top of the context's `CurrentMetricAttributes`) in
 * the context's registry, registering the series on its first source; the function returned removes this source
 * (and the series, once no source is left). Safe to call more than once.
 */
export const contribute = <State>(
  metric: Metric.Metric<any, State>,
  context: Context.Context<never>,
  attributes: Metric.Metric.AttributeSet,
  get: () => State,
  combine: Combine<State>
): () => void => {
  const registry = Context.get(context, Metric.MetricRegistry)
  let seriesOfRegistry = byRegistry.get(registry)
  if (seriesOfRegistry === undefined) {
    seriesOfRegistry = new Map()
    byRegistry.set(registry, seriesOfRegistry)
  }
  const merged = { ...metric.attributes, ...Context.get(context, Metric.CurrentMetricAttributes), ...attributes }
  const key = `${metric.id}\u0000${JSON.stringify(Object.keys(merged).toSorted().map((name) => [name, merged[name]]))}`
  let series: Series<State> | undefined = seriesOfRegistry.get(key)
  if (series === undefined) {
    const sources = new Set<() => State>()
    const registration = Metric.registerUnsafe(metric, Context.add(context, Metric.CurrentMetricAttributes, merged), {
      get: () => {
        const states: Array<State> = []
        for (const source of sources) states.push(source())
        return combine(states)
      },
      update: () => {},
      modify: () => {}
    })
    series = { sources, registration }
    seriesOfRegistry.set(key, series)
  }
  const joined = series
  // Each call adds its own source, even when two pools pass the same function.
  const source = () => get()
  joined.sources.add(source)
  return () => {
    if (!joined.sources.delete(source) || joined.sources.size > 0) return
    joined.registration.remove()
    if (seriesOfRegistry.get(key) === joined) seriesOfRegistry.delete(key)
  }
}

/** Counters add up. */
export const sumCounts: Combine<{ readonly count: number; readonly incremental: boolean }> = (states) => {
  let count = 0
  for (const state of states) count += state.count
  return { count, incremental: true }
}

/** Gauges of things that add up across pools (tasks, workers). */
export const sumValues: Combine<{ readonly value: number }> = (states) => {
  let value = 0
  for (const state of states) value += state.value
  return { value }
}

/** Gauges of ratios (utilisation): the mean. */
export const meanValues: Combine<{ readonly value: number }> = (states) =>
  states.length === 0 ? { value: 0 } : { value: sumValues(states).value / states.length }

/** The state Effect's histogram metrics report. */
export interface HistogramState {
  readonly buckets: ReadonlyArray<[number, number]>
  readonly count: number
  readonly min: number
  readonly max: number
  readonly sum: number
}

/** Histograms with the same boundaries: buckets, counts and sums add up; min and max over the non-empty ones. */
export const mergeHistograms: Combine<HistogramState> = (states) => {
  if (states.length === 1) return states[0]!
  const buckets: Array<[number, number]> = (states[0]?.buckets ?? []).map(([bound]) => [bound, 0])
  let count = 0
  let sum = 0
  let min = Number.POSITIVE_INFINITY
  let max = 0
  for (const state of states) {
    for (let i = 0; i < buckets.length; i++) buckets[i]![1] += state.buckets[i]?.[1] ?? 0
    count += state.count
    sum += state.sum
    if (state.count > 0) {
      min = Math.min(min, state.min)
      max = Math.max(max, state.max)
    }
  }
  return { buckets, count, sum, min: count === 0 ? 0 : min, max }
}
