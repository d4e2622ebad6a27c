/**
 * The raw side of the replacement comparison: a worker that loads what the pool's test entry loads (effect, the
 * library and the test tasks), says so, and exits with code 1 when told — as a crashing task's worker does.
 */
import { parentPort } from "node:worker_threads"
import "../fixtures/tasks.ts"

parentPort!.on("message", () => process.exit(1))
parentPort!.postMessage("loaded")
