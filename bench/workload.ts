/**
 * The benchmark's CPU workload: an integer xorshift loop. Unlike a `Math.sqrt` loop, its speed does not change once
 * the caller's JIT inlines it, so one calibration holds for every pool and for inline runs.
 */
export const spin = (iterations: number): number => {
  let x = 0x1234567 | 0
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  return x >>> 0
}

/** Iterations of {@link spin} per microsecond on this thread: the median of a few timed runs. */
export const calibrate = (): number => {
  spin(5_000_000)
  const rates: Array<number> = []
  for (let i = 0; i < 7; i++) {
    const iterations = 2_000_000
    const start = process.hrtime.bigint()
    spin(iterations)
    const micros = Number(process.hrtime.bigint() - start) / 1_000
    rates.push(iterations / micros)
  }
  return rates.toSorted((a, b) => a - b)[3]!
}

/** Naive Fibonacci, the fork-join benchmark's leaf work. */
export const fib = (n: number): number => (n < 2 ? n : fib(n - 1) + fib(n - 2))

/**
 * {@link spin} from a seed of its own: `iterations` xorshift steps from a state derived from `seed`, so that every item
 * of a range does the same work but gives its own value.
 */
export const spinFrom = (seed: number, iterations: number): number => {
  let x = (seed ^ 0x1234567) | 0 || 1
  for (let i = 0; i < iterations; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  return x >>> 0
}

/**
 * The sum of {@link spinFrom}(i, iterations) over the items `lo <= i < hi`: the fine fork-join benchmark's leaf work.
 * Each term is below 2^32, so sums over fewer than 2^21 items are exact doubles.
 */
export const sumRange = (lo: number, hi: number, iterations: number): number => {
  let sum = 0
  for (let i = lo; i < hi; i++) sum += spinFrom(i, iterations)
  return sum
}

/**
 * The payload-copy row's task: the first plus the last element of an array. Two reads, so the task costs nothing
 * beside the copy of its payload; both ends, so an array that arrived empty or zeroed gives a wrong answer.
 */
export const ends = (array: Float64Array): number => array[0]! + array[array.length - 1]!
