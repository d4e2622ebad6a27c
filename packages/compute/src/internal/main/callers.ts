/**
 * When callers resume. Ending a job resumes its caller's fiber, which may run at once, synchronously, and read the
 * pool's stats or close its scope. Where many jobs end in one step — a worker's exit, a Results message, shutdown —
 * that caller would see the step half done: some jobs of a dead worker ended and others still active, the restart not
 * yet counted, no replacement arranged. So within such a step resumptions are held, and run in order once it is over.
 */
export class Callers {
  /** while a step is under way: each held call, then its argument (pairs, so that holding allocates no closure) */
  private held: Array<unknown> | undefined = undefined

  /** Resumes a caller with `value`: now, or once the step under way is over. */
  resume<A>(call: (value: A) => void, value: A): void {
    if (this.held === undefined) call(value)
    else this.held.push(call, value)
  }

  /** Runs one step of the pool's state; callers it resumes run after it, in the order they were resumed. */
  settleFirst<A>(step: () => A): A {
    if (this.held !== undefined) return step()
    const held: Array<unknown> = []
    this.held = held
    try {
      return step()
    } finally {
      this.held = undefined
      // A call may end more jobs (its caller submits again, say): those run at once, the step being over.
      for (let i = 0; i < held.length; i += 2) {
        try {
          ;(held[i] as (value: unknown) => void)(held[i + 1])
        } catch (error) {
          // One caller's failure must not keep the others waiting; it is still reported.
          queueMicrotask(() => {
            throw error
          })
        }
      }
    }
  }
}
