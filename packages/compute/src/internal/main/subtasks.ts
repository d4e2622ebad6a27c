/**
 * Nested parallelism on the main thread: a task running in a worker uses the pool itself (`ComputePool.execute`,
 * `join`, `ComputeParallel.map` inside a handler), and its worker asks the pool to run the subtask. The subtask is
 * dispatched like any task; its outcome goes back to the asking worker. While a task has subtasks running it is
 * suspended: it does not count as its worker's load, so that worker can take other tasks meanwhile.
 */
import * as Schema from "effect/Schema"
import * as ComputeTask from "../../ComputeTask.ts"
import * as Protocol from "../wire/protocol.ts"
import { type Settlement, withoutCause } from "../wire/settlement.ts"
import type { Job } from "./job.ts"
import type { WorkerSlot } from "./workerSlot.ts"

/**
 * Stand-ins for tasks spawned inside workers: the main thread may not have imported them, and does not need to — the
 * payload arrives encoded and the results go back encoded, to be decoded by the spawning worker.
 */
const forwardedTasks = new Map<string, ComputeTask.Any>()
const forwardedTask = (name: string): ComputeTask.Any => {
  let task = forwardedTasks.get(name)
  if (task === undefined) {
    task = ComputeTask.make(name, {
      payload: Schema.Any,
      success: Schema.Any,
      failure: Schema.Any,
      handler: () => {
        throw new Error(`task "${name}" runs in a worker, not on the main thread`)
      }
    })
    forwardedTasks.set(name, task)
  }
  return task
}

const interrupted: Settlement = { _tag: "Interrupted" }

/** What subtasks need of the dispatcher. */
export interface SubtaskHost {
  readonly submit: (
    task: ComputeTask.Any,
    kind: Protocol.Kind,
    payload: unknown,
    settle: (settlement: Settlement) => void,
    priority: number
  ) => Job | undefined
  readonly cancel: (job: Job, stopped: () => void) => void
  /** whether a worker may still be sent messages */
  readonly isServing: (worker: WorkerSlot) => boolean
}

export class Subtasks {
  private readonly host: SubtaskHost
  constructor(host: SubtaskHost) {
    this.host = host
  }

  /** A task on `worker` spawned a subtask: run it like any other, and send its outcome back there. */
  spawn(worker: WorkerSlot, message: Protocol.SpawnMessage): void {
    const [, requestId, parentId, name, kind, payload] = message
    const parent = worker.jobs.get(parentId)
    // The payload was encoded in the worker; the stand-in task's schemas pass it through as it is. A subtask runs at
    // its parent's priority.
    const child = this.host.submit(
      forwardedTask(name),
      kind,
      payload,
      (settlement) => this.answer(worker, requestId, settlement),
      parent?.priority ?? 0
    )
    if (child === undefined) return
    child.origin = { worker, requestId }
    worker.children.set(requestId, child)
    if (parent !== undefined) {
      child.parent = parent
      parent.children ??= new Set()
      if (parent.children.size === 0) worker.suspended++
      parent.children.add(child)
    }
  }

  /** The spawning task asked to stop one of its subtasks (it was interrupted). */
  cancelRequested(worker: WorkerSlot, requestId: number): void {
    const child = worker.children.get(requestId)
    if (child !== undefined) this.cancel(child)
  }

  /** A task is being interrupted: its subtasks stop too, at once — one may be what keeps its thread from hearing. */
  cancelChildrenOf(job: Job): void {
    if (job.children !== undefined) { for (const child of Array.from(job.children)) this.cancel(child) }
  }

  /** Subtasks whose spawning worker died have no one to answer to. */
  orphan(worker: WorkerSlot): void {
    for (const child of Array.from(worker.children.values())) this.host.cancel(child, () => {})
    worker.children.clear()
  }

  private cancel(child: Job): void {
    const origin = child.origin!
    this.host.cancel(child, () => this.answer(origin.worker, origin.requestId, interrupted))
  }

  private answer(worker: WorkerSlot, requestId: number, settlement: Settlement): void {
    const child = worker.children.get(requestId)
    if (child !== undefined) {
      worker.children.delete(requestId)
      const parent = child.parent
      if (parent?.children?.delete(child) === true && parent.children.size === 0) worker.suspended--
    }
    if (this.host.isServing(worker)) {
      worker.post(
        [Protocol.ChildResult, requestId, withoutCause(settlement)] satisfies Protocol.ChildResultMessage
      )
    }
  }
}
