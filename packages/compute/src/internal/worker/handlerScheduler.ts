/**
 * The scheduler for a worker's handler fibers. Effect's default resumes forked fibers from `setImmediate`, after the
 * worker has read its pending messages — and a message may be a long task, which then runs first. A task that forks
 * subtasks (`ComputePool.join`, `Effect.all`) would wait behind it before even sending them. This one runs scheduled
 * fibers from a microtask, up to a budget per turn of the event loop, then falls back to `setImmediate` so messages
 * (cancellations among them) are still read. Installed once per worker, at start-up.
 */
import * as Scheduler from "effect/Scheduler"

// A microtask without `queueMicrotask`'s async-hooks resource (one object per call, measured in a worker's profile).
const resolved = Promise.resolve()

export const make = (): Scheduler.Scheduler => {
  const microtaskBudget = 64
  let used = 0
  let resetPending = false
  const reset = () => {
    used = 0
    resetPending = false
  }
  return new Scheduler.MixedScheduler("async", (run) => {
    if (used < microtaskBudget) {
      used++
      if (!resetPending) {
        resetPending = true
        setImmediate(reset)
      }
      let cancelled = false
      resolved.then(() => {
        if (!cancelled) run()
      })
      return () => {
        cancelled = true
      }
    }
    const handle = setImmediate(run)
    return () => clearImmediate(handle)
  })
}
