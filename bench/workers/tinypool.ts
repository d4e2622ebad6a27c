import type { Task } from "../pools.ts"
import { ends, spin } from "../workload.ts"

/** tinypool's task function, the same contract as Piscina's (`Task`: echo, spin, or `ends` of an array). */
export default (task: Task): number => (task.op === 2 ? ends(task.array) : task.op === 0 ? task.n : spin(task.n))
