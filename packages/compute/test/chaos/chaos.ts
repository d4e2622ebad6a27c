/**
 * The chaos run: a seeded mix of tasks — fast, slow, failing, defecting, interrupted, nested — while workers are
 * killed at random (process.exit inside a task, out of memory under a small heap limit). Among them, fork-join trees
 * (./tasks.ts) 2 to 4 levels deep spawned from inside workers, some with leaves that fail, throw or kill their worker,
 * some interrupted by their caller at a random time: each tree's outcome is checked against its plan. Used by
 * Chaos.test.ts in a short form and by `npm run chaos` in a long one.
 */
import { Cause, Effect, Exit, Fiber } from "effect"
import { ComputeError, type ComputeMetrics, ComputePool } from "effect-compute"
import {
  Add,
  BusyFor,
  ExitProcess,
  Negative,
  Oom,
  ParallelFib,
  Sleep,
  SpinCooperative,
  SpinForever,
  Square,
  Throw
} from "../fixtures/tasks.ts"
import { random } from "../helpers.ts"
import { type FaultKind, Tree, TreeFailure, treeLeaves, treeValue } from "./tasks.ts"

export interface ChaosReport {
  readonly submitted: number
  readonly outcomes: Record<string, number>
  readonly unexpected: ReadonlyArray<string>
  /** the fork-join trees among the submitted calls, by outcome (their outcomes count in `outcomes` too) */
  readonly trees: {
    readonly calls: number
    /** trees with at least one faulty leaf */
    readonly faulty: number
    /** trees whose caller interrupted them at a random time */
    readonly interruptedByCaller: number
    readonly outcomes: Record<string, number>
  }
  readonly stats: ComputePool.PoolStats
  readonly metrics: { readonly tasks_total: number; readonly tasks_active: number; readonly completed: number }
}

type Kind = "fast" | "slow" | "failure" | "defect" | "interrupt" | "nested" | "tree" | "exit" | "oom" | "stuck"

/**
 * Mostly ordinary work; 6% fork-join trees (a few of whose leaves exit); 0.2% exits, 0.15% out of memory, 0.15% loops
 * that ignore interruption (terminated).
 */
const kinds: ReadonlyArray<readonly [number, Kind]> = [
  [0.34, "fast"],
  [0.44, "slow"],
  [0.54, "failure"],
  [0.64, "defect"],
  [0.79, "interrupt"],
  [0.935, "nested"],
  [0.995, "tree"],
  [0.997, "exit"],
  [0.9985, "oom"],
  [1, "stuck"]
]
const pick = (r: number): Kind => kinds.find(([upTo]) => r < upTo)?.[1] ?? "stuck"

const classify = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "success"
  if (Cause.hasInterruptsOnly(exit.cause)) return "interrupted"
  const error = Cause.squash(exit.cause)
  if (error instanceof Negative || error instanceof TreeFailure) return "failure"
  if (error instanceof ComputeError.TaskDefect) return "defect"
  if (ComputeError.isComputeError(error)) return error.reason._tag
  return `unexpected: ${Cause.pretty(exit.cause)}`
}

/** One fork-join tree of the mix: its payload, and what its caller may see. */
interface TreePlan {
  readonly depth: number
  readonly salt: number
  readonly faults: ReadonlyArray<readonly [number, FaultKind]>
  /** ms after the mix's start: the trees are spread over the run, some in its opening flood, some later */
  readonly start: number
  /**
   * 1 for half of them: their subtasks (which run at their parent's priority) pass the mix's backlog, so those trees
   * are short-lived; the others' subtasks wait behind it at every level, which leaves them long in flight.
   */
  readonly priority: number
  readonly interrupted: boolean
}

/**
 * A tree 2–4 levels deep; 45% of them with one or two faulty leaves (a typed failure, a throw, or process.exit); a
 * quarter interrupted by their caller.
 */
const planTree = (next: () => number, i: number, window: number): TreePlan => {
  const depth = 2 + Math.floor(next() * 3)
  const salt = i
  const leaves = treeLeaves(1, depth, salt)
  const leaf = () => leaves[Math.floor(next() * leaves.length)]!
  const kind = (): FaultKind => {
    const r = next()
    return r < 0.45 ? "fail" : r < 0.9 ? "throw" : "exit"
  }
  const r = next()
  const faults: Array<readonly [number, FaultKind]> = r < 0.55
    ? []
    : r < 0.9
    ? [[leaf(), kind()]]
    : [[leaf(), kind()], [leaf(), kind()]]
  return {
    depth,
    salt,
    faults,
    start: Math.floor(next() * window),
    priority: next() < 0.5 ? 1 : 0,
    interrupted: next() < 0.25
  }
}

/**
 * A tree's outcome, or `unexpected: ...` if its plan rules it out. A success has the clean tree's exact value and only
 * a tree without faults has one. A failure is the typed `TreeFailure` of one of its failing leaves, the `TaskDefect` of
 * one of its throwing leaves (its message names the leaf), `WorkerCrashed` (from an exiting leaf deep in the tree, or
 * from another task of the mix killing a worker its subtasks were on), or an interruption if its caller interrupted it.
 */
const classifyTree = (plan: TreePlan, exit: Exit.Exit<unknown, unknown>): string => {
  const unexpected = (why: string) => `unexpected: tree ${JSON.stringify(plan)}: ${why}`
  const leavesOf = (kind: FaultKind) => plan.faults.filter(([, k]) => k === kind).map(([leaf]) => leaf)
  if (Exit.isSuccess(exit)) {
    if (plan.faults.length > 0) return unexpected(`succeeded with ${String(exit.value)} despite its faults`)
    const expected = treeValue(1, plan.depth, plan.salt)
    return exit.value === expected ? "success" : unexpected(`gave ${String(exit.value)}, not ${expected}`)
  }
  if (Cause.hasInterruptsOnly(exit.cause)) {
    return plan.interrupted ? "interrupted" : unexpected("interrupted, but its caller never interrupted it")
  }
  const error = Cause.squash(exit.cause)
  if (error instanceof TreeFailure) {
    return leavesOf("fail").includes(error.leaf) ? "TreeFailure" : unexpected(`TreeFailure of leaf ${error.leaf}`)
  }
  if (error instanceof ComputeError.TaskDefect) {
    const leaf = Number(/chaos tree leaf (\d+) threw/.exec(error.message)?.[1])
    return leavesOf("throw").includes(leaf) ? "TaskDefect" : unexpected(`TaskDefect: ${error.message}`)
  }
  if (ComputeError.isComputeError(error) && error.reason._tag === "WorkerCrashed") return "WorkerCrashed"
  return unexpected(Cause.pretty(exit.cause))
}

const completedOf = (snapshot: ComputeMetrics.Snapshot) => Object.values(snapshot.outcomes).reduce((a, b) => a + b, 0)

export const runChaos = (options: { readonly tasks: number; readonly seed: number; readonly threads: number }) =>
  Effect.gen(function*() {
    const next = random(options.seed)
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    const trees = new Map<number, TreePlan>()
    for (let i = 0; i < options.tasks; i++) {
      const kind = pick(next())
      const plan = kind === "tree" ? planTree(next, i, options.tasks * 1.5) : undefined
      if (plan !== undefined) trees.set(i, plan)
      const task: Effect.Effect<unknown, unknown, ComputePool.ComputePool> = plan !== undefined
        ? Effect.andThen(
          Effect.sleep(plan.start),
          ComputePool.execute(Tree, { node: 1, depth: plan.depth, salt: plan.salt, faults: plan.faults }, {
            priority: plan.priority
          })
        )
        : kind === "fast"
        ? ComputePool.execute(Add, [i, 1])
        : kind === "slow"
        ? ComputePool.execute(BusyFor, 1 + Math.floor(next() * 3))
        : kind === "failure"
        ? ComputePool.execute(Square, -1 - i)
        : kind === "defect"
        ? ComputePool.execute(Throw, `chaos ${i}`)
        : kind === "interrupt"
        ? (next() < 0.5 ? ComputePool.execute(Sleep, 50) : ComputePool.execute(SpinCooperative, undefined))
        : kind === "nested"
        ? ComputePool.execute(ParallelFib, 11 + Math.floor(next() * 3))
        : kind === "exit"
        ? ComputePool.execute(ExitProcess, 3)
        : kind === "oom"
        ? ComputePool.execute(Oom, undefined)
        : ComputePool.execute(SpinForever, undefined)
      const fiber = yield* Effect.forkChild(task)
      fibers.push(fiber)
      if (kind === "interrupt" || kind === "stuck") {
        yield* Effect.forkChild(Effect.andThen(Effect.sleep(Math.floor(next() * 20)), Fiber.interrupt(fiber)))
      }
      if (plan?.interrupted === true) {
        const at = plan.start + Math.floor(next() * 30)
        yield* Effect.forkChild(Effect.andThen(Effect.sleep(at), Fiber.interrupt(fiber)))
      }
      if (i % 200 === 0) yield* Effect.yieldNow
    }
    const outcomes: Record<string, number> = {}
    const unexpected: Array<string> = []
    const treeOutcomes: Record<string, number> = {}
    for (const [i, fiber] of fibers.entries()) {
      const exit = yield* Fiber.await(fiber)
      const outcome = classify(exit)
      if (outcome.startsWith("unexpected")) unexpected.push(outcome)
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      const plan = trees.get(i)
      if (plan !== undefined) {
        const treeOutcome = classifyTree(plan, exit)
        if (treeOutcome.startsWith("unexpected")) unexpected.push(treeOutcome)
        treeOutcomes[treeOutcome] = (treeOutcomes[treeOutcome] ?? 0) + 1
      }
    }
    // The pool returns to its size: replacements for the workers killed along the way.
    for (let i = 0; i < 10_000 && (yield* ComputePool.stats).liveWorkers < options.threads; i++) {
      yield* Effect.sleep(5)
    }
    // Every caller has its outcome, but a subtree a dead worker's peer was running for it may still be winding down
    // (it stops once the peer hears of the death): wait, up to 10 s, until nothing is active or queued.
    let snapshot = yield* ComputePool.metrics
    for (
      let i = 0;
      i < 2_000 &&
      (snapshot.tasks_active > 0 || snapshot.tasks_queued > 0 || completedOf(snapshot) < snapshot.tasks_total);
      i++
    ) {
      yield* Effect.sleep(5)
      snapshot = yield* ComputePool.metrics
    }
    const stats = yield* ComputePool.stats
    const completed = completedOf(snapshot)
    const plans = [...trees.values()]
    return {
      submitted: options.tasks,
      outcomes,
      unexpected,
      trees: {
        calls: plans.length,
        faulty: plans.filter((plan) => plan.faults.length > 0).length,
        interruptedByCaller: plans.filter((plan) => plan.interrupted).length,
        outcomes: treeOutcomes
      },
      stats,
      metrics: { tasks_total: snapshot.tasks_total, tasks_active: snapshot.tasks_active, completed }
    } satisfies ChaosReport
  }).pipe(
    Effect.provide(
      ComputePool.layer({
        entry: new URL("./worker.ts", import.meta.url),
        threads: options.threads,
        // Short, so a loop that ignores its interruption costs its worker soon (the "terminate" kind of kill).
        interruptGracePeriod: "200 millis",
        // Workers are killed on purpose by the mix's own tasks: not poison tasks to quarantine.
        quarantine: false,
        resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 }
      })
    )
  )
