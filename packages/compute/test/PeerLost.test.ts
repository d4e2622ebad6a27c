/**
 * A peer's answer and the news of its exit, in every order a busy owner can read them: on real ports and a real
 * shared region, with the owner's side driven by hand so that each order is taken on purpose, not by timing.
 */
import { assert, describe, it } from "@effect/vitest"
import { MessageChannel, type MessagePort } from "node:worker_threads"
import type * as ComputeTask from "../src/ComputeTask.ts"
import { Region } from "../src/internal/shared/region.ts"
import { StealSlots, stealSlotsBytes } from "../src/internal/shared/stealSlots.ts"
import type { Outcome } from "../src/internal/wire/outcome.ts"
import * as Protocol from "../src/internal/wire/protocol.ts"
import type { Settlement } from "../src/internal/wire/settlement.ts"
import type { Idle } from "../src/internal/worker/idle.ts"
import { Peers } from "../src/internal/worker/peers.ts"
import { Subtask, type SubtaskQueue } from "../src/internal/worker/subtaskQueue.ts"
import { Add } from "./fixtures/tasks.ts"

const thiefId = 1

/** An owner (worker 0) with one subtask published, a thief (worker 1) that stole it, and the port between them. */
const stolenSubtask = () => {
  const region = Region.allocate(stealSlotsBytes)
  const ended: Array<{ readonly outcome: Outcome; readonly settlement: Settlement }> = []
  /** the thief's subtask endings the owner took over with its answer, for the main thread's metrics */
  const merged: Array<Protocol.SubtaskTallyMessage> = []
  const peers = new Peers({
    workerId: 0,
    region,
    registry: new Map<string, ComputeTask.Any>([[Add.name, Add]]),
    start: () => undefined,
    leave: () => {},
    takeTallies: () => undefined,
    mergeTallies: (tallies) => merged.push(tallies)
  })
  peers.queue = {
    end: (_subtask: Subtask, outcome: Outcome, settlement: Settlement) => ended.push({ outcome, settlement })
  } as unknown as SubtaskQueue
  peers.idle = { busy: () => {}, maybeIdle: () => {}, woken: () => {} } as unknown as Idle
  const { port1, port2 } = new MessageChannel()
  peers.onPeer(thiefId, Region.allocate(stealSlotsBytes).buffer, port1)
  const parent = { rootId: 7, trace: undefined, isCancelled: () => false }
  const subtask = new Subtask(Add, Protocol.Kind.Single, [2, 3], parent, () => {})
  assert.isTrue(peers.publish(subtask))
  const stolen = new StealSlots(region.buffer).steal(thiefId)
  assert.isDefined(stolen)
  const thiefPort: MessagePort = port2
  /** The thief's answer: posted, then marked answered in the owner's slots (as the thief's runtime does). */
  const answer = () => {
    thiefPort.postMessage(
      [
        Protocol.StolenResult,
        stolen!.slot,
        stolen!.token,
        Protocol.Report.Success,
        5,
        1,
        thiefTallies()
      ] satisfies Protocol.StolenResultMessage
    )
    new StealSlots(region.buffer).markAnswered(stolen!.slot)
  }
  const close = () => {
    port1.close()
    port2.close()
  }
  return { peers, ended, merged, answer, thiefPort, close }
}

/** What the thief hands over with its answer: the stolen Add's ending, a success that ran 1 ms. */
const thiefTallies = () => {
  const tallies = new Protocol.SubtaskTallies()
  tallies.add(Add.name, "success", 1)
  return tallies.take()
}

describe("a thief's answer and its exit", () => {
  it("answered, then gone before the owner read the answer (retired cleanly): the answer stands", () => {
    const { answer, close, ended, merged, peers } = stolenSubtask()
    answer()
    // Synchronously: the owner, busy until now, reads the main thread's news before its port's message event.
    peers.onPeerLost(thiefId, 0, "worker 1 exited with code 0")
    assert.deepStrictEqual(ended.map((end) => end.outcome), ["success"])
    assert.deepStrictEqual(ended[0]!.settlement, { _tag: "Success", value: 5 })
    // The thief's endings came with its answer, for the owner to send on.
    assert.deepStrictEqual(merged, [thiefTallies()])
    close()
  })

  it("answered, then its side of the port closed by its exit (a crash right after answering): the answer stands", () => {
    const { answer, close, ended, peers, thiefPort } = stolenSubtask()
    answer()
    thiefPort.close()
    peers.onPeerLost(thiefId, 7, "worker 1 exited with code 7")
    assert.deepStrictEqual(ended.map((end) => end.outcome), ["success"])
    close()
  })

  it("gone before answering: the subtask fails as crashed, once", () => {
    const { close, ended, peers } = stolenSubtask()
    peers.onPeerLost(thiefId, 7, "worker 1 exited with code 7")
    assert.deepStrictEqual(ended.map((end) => end.outcome), ["crashed"])
    assert.strictEqual(ended[0]!.settlement._tag, "Crashed")
    // The news again (or a late message) changes nothing.
    peers.onPeerLost(thiefId, 7, "worker 1 exited with code 7")
    assert.strictEqual(ended.length, 1)
    close()
  })

  it("answered and read before the news: one outcome, the answer", async () => {
    const { answer, close, ended, peers } = stolenSubtask()
    answer()
    await new Promise((resolve) => setTimeout(resolve, 20))
    assert.deepStrictEqual(ended.map((end) => end.outcome), ["success"])
    peers.onPeerLost(thiefId, 0, "worker 1 exited with code 0")
    assert.strictEqual(ended.length, 1)
    close()
  })
})
