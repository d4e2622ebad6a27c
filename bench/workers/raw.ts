import { parentPort } from "node:worker_threads"
import type { RawMessage } from "../pools.ts"
import { ends, spin } from "../workload.ts"

// [id, op, n] in, [id, result] out: the least a worker_threads pool can do.
parentPort!.on("message", (message: RawMessage) => {
  const result = message[1] === 2 ? ends(message[2]) : message[1] === 0 ? message[2] : spin(message[2])
  parentPort!.postMessage([message[0], result])
})
