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
