import { parentPort } from "node:worker_threads"
import { spin } from "../workload.ts"

// [id, op, n] in, [id, result] out: the least a worker_threads pool can do.
parentPort!.on("message", (message: [number, number, number]) => {
  const [id, op, n] = message
  parentPort!.postMessage([id, op === 0 ? n : spin(n)])
})
