/**
 * When callers resume. Ending a job resumes its caller's fiber, which may run at once, synchronously, and read the
 * pool's stats or close its scope. Where many jobs end in one step — a worker's exit, a Results message, shutdown —
 * that caller would see the step half done: some jobs of a dead worker ended and others still active, the restart not
 * yet counted, no replacement arranged. So within such a step resumptions are held, and run in order once it is over.
 */
export class Callers {
  /** while a step is under way: each held call, then its argument (pairs, so that holding allocates no closure) */
  private held: Array<unknown> | undefined = undefined
  /** an emptied array for the next step: a step per message from a worker, on the dispatch path */
  private spare: Array<unknown> = []

  /** Resumes a caller with `value`: now, or once the step under way is over. */
  resume<A>(call: (value: A) => void, value: A): void {
    if (this.held === undefined) call(value)
    else this.held.push(call, value)
  }

  /**
   * Begins a step; true when it is the outermost one, which must then call {@link endStep}. (A pair of calls rather
   * than a function taking the step, so that the path of every message from a worker makes no closure.)
   */
  beginStep(): boolean {
    if (this.held !== undefined) return false
    this.held = this.spare
    return true
  }

  /** Ends the outermost step: the callers it resumed run now, in the order they were resumed. */
  endStep(): void {
    const held = this.held!
    this.held = undefined
    // A call may end more jobs (its caller submits again, say): those run at once, the step being over. A step that
    // one of them begins takes a fresh array, as this one is still being read.
    this.spare = []
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
    held.length = 0
    this.spare = held
  }

  /** Runs one step of the pool's state; callers it resumes run after it, in the order they were resumed. */
  settleFirst<A>(step: () => A): A {
    if (!this.beginStep()) return step()
    try {
      return step()
    } finally {
      this.endStep()
    }
  }
}
