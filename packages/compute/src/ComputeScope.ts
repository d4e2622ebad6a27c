/**
 * Compute scopes — the Rust runtime's `execute_scoped(|scope| scope.spawn(...))`: spawn as many tasks as the work in
 * hand dictates, discovered as you go, and wait for all of them.
 *
 * A compute scope lives in an Effect `Scope`. `join` waits until every spawned task has ended — including tasks
 * spawned while it waits — and returns their results in spawn order. The first failure interrupts the others (which
 * really stops them: a pool task is cancelled on its worker) and `join` fails with it once they have stopped.
 * Closing the Effect `Scope`, or interrupting its owner, interrupts whatever still runs.
 *
 * @since 0.1.0
 * @module
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

/**
 * A compute scope whose tasks succeed with `A` and fail with `E`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ComputeScope<A, E> {
  /** Starts an effect (usually a pool call) in the scope; returns its fiber. */
  readonly spawn: <R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<Fiber.Fiber<A, E>, never, R>
  /** Waits for every spawned task; their results in spawn order, or the first failure. */
  readonly join: Effect.Effect<Array<A>, E>
  /** How many spawned tasks are still running. */
  readonly running: Effect.Effect<number>
}

/**
 * Makes a compute scope in the current Effect `Scope`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputeError, ComputePool, ComputeScope } from "effect-compute"
 * import { Crawl } from "./tasks.ts"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const scope = yield* ComputeScope.make<ReadonlyArray<string>, ComputeError.ComputeError>()
 *   const visit = (url: string): Effect.Effect<ReadonlyArray<string>, ComputeError.ComputeError, ComputePool.ComputePool> =>
 *     Effect.tap(ComputePool.execute(Crawl, url), (links) => Effect.forEach(links, (link) => scope.spawn(visit(link))))
 *   yield* scope.spawn(visit("/"))
 *   return yield* scope.join
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A = unknown, E = unknown>(): Effect.Effect<ComputeScope<A, E>, never, Scope.Scope> =>
  Effect.map(Effect.scope, (scope) => {
    const fibers = new Set<Fiber.Fiber<A, E>>()
    const results: Array<A> = []
    const waiters: Array<() => void> = []
    let spawned = 0
    let failure: Cause.Cause<E> | undefined

    const onEnd = (fiber: Fiber.Fiber<A, E>, index: number) => (exit: Exit.Exit<A, E>) => {
      fibers.delete(fiber)
      if (Exit.isSuccess(exit)) results[index] = exit.value
      else if (failure === undefined && !Cause.hasInterruptsOnly(exit.cause)) {
        failure = exit.cause
        for (const other of fibers) other.interruptUnsafe()
      }
      if (fibers.size === 0) { for (const wake of waiters.splice(0)) wake() }
    }

    const spawn = <R>(effect: Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        const index = spawned++
        return Effect.tap(Effect.forkIn(effect, scope), (fiber) =>
          Effect.sync(() => {
            fibers.add(fiber)
            fiber.addObserver(onEnd(fiber, index))
            // Spawned after a failure: it must not run on.
            if (failure !== undefined) fiber.interruptUnsafe()
          }))
      })

    const join = Effect.callback<void>((resume) => {
      if (fibers.size === 0) return resume(Effect.void)
      waiters.push(() => resume(Effect.void))
    }).pipe(Effect.flatMap(() => (failure === undefined ? Effect.succeed(results.slice()) : Effect.failCause(failure))))

    return { spawn, join, running: Effect.sync(() => fibers.size) }
  })

/**
 * Runs `body` with a fresh compute scope, then joins it: the results of every task spawned, in spawn order. The
 * Rust runtime's `execute_scoped`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ComputeError, ComputePool, ComputeScope } from "effect-compute"
 * import { Double } from "./tasks.ts"
 *
 * const doubled = ComputeScope.scoped<number, ComputeError.ComputeError, ComputePool.ComputePool>((scope) =>
 *   Effect.forEach([0, 1, 2, 3], (i) => scope.spawn(ComputePool.execute(Double, i)))
 * ) // Effect<Array<number>, ComputeError, ComputePool> — [0, 2, 4, 6]
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const scoped = <A, E, R = never, E2 = never, R2 = never>(
  body: (scope: ComputeScope<A, E>) => Effect.Effect<unknown, E2, R | R2>
): Effect.Effect<Array<A>, E | E2, R | R2> =>
  Effect.scoped(
    Effect.gen(function*() {
      const scope = yield* make<A, E>()
      yield* body(scope)
      return yield* scope.join
    })
  )
