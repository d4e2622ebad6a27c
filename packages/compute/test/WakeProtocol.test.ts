/**
 * The wake-up protocol (`src/internal/worker/idle.md`), explored in every order: the main thread writing tasks in a
 * worker's inbox, an owner publishing subtasks for a peer, and the workers' own idle checks, interleaved step by step
 * wherever two threads could act between one another's reads and writes of shared memory. The workers run the real
 * idle life (`Idle`, over real regions); the inbox and the steal slots are counters, each read and written in one
 * step. In every order, once every thread has gone quiet, no work may be left with every worker asleep.
 *
 * A worker is one thread: while one of its turns is under way (an idle check, a message read, its task publishing
 * subtasks), nothing else of it runs, but the other threads do, between the turn's steps. Messages and deferred idle
 * checks of a worker may come in either order, as a message and an immediate may in Node's event loop.
 */
import { assert, describe, it } from "@effect/vitest"
import { Region } from "../src/internal/shared/region.ts"
import { Idle, type IdleHost } from "../src/internal/worker/idle.ts"

/** A scenario: what the main thread gives to whom, and what worker 0's running task publishes for worker 1. */
interface Scenario {
  /** each entry: one batch the main thread writes in that worker's inbox */
  readonly batches: ReadonlyArray<0 | 1>
  /** subtasks worker 0's task publishes (worker 0 starts busy with that task when there are any) */
  readonly published: number
}

/** A world of two workers and the main thread, and the steps each thread may take next. */
const world = (scenario: Scenario, makeIdle: (host: IdleHost, defer: (check: () => void) => void) => Idle) => {
  const inbox = [0, 0]
  let published = 0
  let workDone = 0
  const messages: Array<Array<"Drain" | "Wake">> = [[], []]
  const checkPending = [false, false]
  const regions = [Region.allocate(0), Region.allocate(0)]
  const idles: Array<Idle> = []
  for (const w of [0, 1] as const) {
    const host: IdleHost = {
      region: regions[w]!,
      hasQueued: () => false,
      readInbox: () => {
        if (inbox[w] === 0) return false
        // As the runtime does: busy while it runs the batch, then an idle check once it is done.
        workDone += inbox[w]!
        inbox[w] = 0
        idles[w]!.busy()
        idles[w]!.maybeIdle()
        return true
      },
      inboxReadable: () => inbox[w]! > 0,
      inboxWritten: () => inbox[w]! > 0,
      // Worker 1 steals what worker 0 published; worker 0 publishes nothing to steal from it.
      steal: () => {
        if (w === 0 || published === 0) return false
        published--
        workDone++
        idles[w]!.busy()
        idles[w]!.maybeIdle()
        return true
      },
      canSteal: () => w === 1 && published > 0,
      inHand: () => false,
      awakePeers: () => 0
    }
    idles.push(makeIdle(host, () => {
      checkPending[w] = true
    }))
  }

  /** The main thread: writes each batch, then wakes the worker if it is hungry (one step each). */
  function* mainThread(): Generator<void, void> {
    for (const w of scenario.batches) {
      inbox[w]!++
      yield
      if (regions[w]!.claimToWake()) messages[w]!.push("Drain")
      yield
    }
  }

  /** Worker 0's task: publishes its subtasks, wakes the hungry peer, then takes back and runs what was not stolen. */
  function* ownerTask(): Generator<void, void> {
    idles[0]!.busy()
    for (let i = 0; i < scenario.published; i++) {
      published++
      yield
    }
    idles[0]!.wakeHungry([{ region: regions[1]! }], scenario.published, () => messages[1]!.push("Wake"))
    yield
    while (published > 0) {
      // Taken back by compare-and-swap: one step, and a thief cannot have it too.
      published--
      workDone++
      yield
    }
    idles[0]!.maybeIdle()
  }

  // Each worker starts as after its Ready: an idle check pending; worker 0 busy in its task first, if it has one.
  for (const idle of idles) idle.maybeIdle()
  const turns: Array<Generator<void, void> | undefined> = [undefined, undefined]
  /** what each worker's turn under way is, and how many steps of it were taken: where its generator stands */
  const turnAt: Array<string> = ["", ""]
  const main = mainThread()
  let mainDone = false
  let mainSteps = 0
  let ownerTaskLeft = scenario.published > 0

  /** What may happen next, as functions that take one step. */
  const moves = (): Array<() => void> => {
    const next: Array<() => void> = []
    if (!mainDone) {
      next.push(() => {
        mainSteps++
        mainDone = main.next().done === true
      })
    }
    for (const w of [0, 1] as const) {
      const turn = turns[w]
      if (turn !== undefined) {
        next.push(() => {
          turnAt[w] += "."
          if (turn.next().done) end(w)
        })
        continue
      }
      const begin = (kind: string, steps: Generator<void, void>) => {
        turns[w] = steps
        turnAt[w] = kind
        if (steps.next().done) end(w)
      }
      if (w === 0 && ownerTaskLeft) {
        // The task runs first: the worker is busy in it from the start.
        next.push(() => {
          ownerTaskLeft = false
          begin("task", ownerTask())
        })
        continue
      }
      if (checkPending[w]) {
        next.push(() => {
          checkPending[w] = false
          begin("check", idles[w]!.checkSteps())
        })
      }
      if (messages[w]!.length > 0) {
        next.push(() => {
          messages[w]!.shift()
          idles[w]!.woken()
        })
      }
    }
    return next
  }

  const end = (w: number) => {
    turns[w] = undefined
    turnAt[w] = ""
  }

  /**
   * The state, as a key: the shared memory, the messages, and where each thread's code stands. Two orders that reach
   * the same key go on the same ways, so each state is explored once.
   */
  const key = () =>
    JSON.stringify([
      inbox,
      published,
      workDone,
      messages,
      checkPending,
      regions.map((region) => region.hungry),
      turnAt,
      mainSteps,
      ownerTaskLeft
    ])

  const total = scenario.batches.length + scenario.published
  const outcome = () => ({
    workDone,
    left: total - workDone,
    hungry: regions.map((region) => region.hungry)
  })
  return { moves, outcome, total, key }
}

/**
 * Runs every order of a scenario (depth-first, each state reached once, by replaying its order from the start) and
 * returns the orders that end with work left while every thread is quiet, and how many states there were.
 */
const explore = (
  scenario: Scenario,
  makeIdle: (host: IdleHost, defer: (check: () => void) => void) => Idle = (host, defer) =>
    new Idle(host, { spinMicros: 0, cores: 2, defer })
) => {
  const seen = new Set<string>()
  let ends = 0
  const lost: Array<{ readonly order: ReadonlyArray<number>; readonly left: number }> = []
  const run = (prefix: ReadonlyArray<number>): void => {
    const replay = world(scenario, makeIdle)
    for (const choice of prefix) replay.moves()[choice]!()
    const state = replay.key()
    if (seen.has(state)) return
    seen.add(state)
    const next = replay.moves()
    if (next.length === 0) {
      ends++
      const { left, workDone } = replay.outcome()
      assert.isAtMost(workDone, replay.total, "no work is done twice")
      if (left > 0) lost.push({ order: prefix, left })
      return
    }
    for (let choice = 0; choice < next.length; choice++) run([...prefix, choice])
  }
  run([])
  return { states: seen.size, ends, lost }
}

/** An idle check with the order the protocol forbids: hungry said only after the last look, with no look after it. */
class HungryAfterLooking extends Idle {
  protected override *settle(): Generator<void, void> {
    if (this.findWork()) return
    yield
    this.host.region.setHungry(true)
  }
}

/** A worker woken late (its work already read while it looked itself) that does not say it is idle again. */
class SilentWhenWokenLate extends Idle {
  override woken(): void {
    this.host.readInbox()
  }
}

const scenarios: ReadonlyArray<readonly [string, Scenario]> = [
  ["one batch for worker 0", { batches: [0], published: 0 }],
  ["batches for both workers, two for worker 0", { batches: [0, 1, 0], published: 0 }],
  ["a subtask published for worker 1, and a batch for it", { batches: [1], published: 1 }],
  ["two subtasks published, a batch for the owner", { batches: [0], published: 2 }]
]

describe("the wake-up protocol, in every order", () => {
  for (const [name, scenario] of scenarios) {
    it(`${name}: no work left with every worker asleep`, () => {
      const { ends, lost, states } = explore(scenario)
      assert.isAbove(states, 10, "the scenario has orders to explore")
      assert.deepStrictEqual(lost, [], `of ${ends} ends (${states} states)`)
    })
  }

  it("finds the lost wake-up of an idle check that says it is hungry without looking again", () => {
    const { lost, states } = explore(
      { batches: [0], published: 0 },
      (host, defer) => new HungryAfterLooking(host, { spinMicros: 0, cores: 2, defer })
    )
    assert.isAbove(lost.length, 0, `no order (${states} states) lost the batch`)
  })

  it("finds the lost wake-up of a worker woken late that does not say it is idle again", () => {
    const { lost, states } = explore(
      { batches: [0, 1, 0], published: 0 },
      (host, defer) => new SilentWhenWokenLate(host, { spinMicros: 0, cores: 2, defer })
    )
    assert.isAbove(lost.length, 0, `no order (${states} states) lost a batch`)
  })
})
