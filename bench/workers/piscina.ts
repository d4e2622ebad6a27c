import type { Task } from "../pools.ts"
import { ends, spin } from "../workload.ts"

/** Piscina's task function (`Task`): `{ op: 0, n }` echoes n, `{ op: 1, n }` spins n, `{ op: 2, array }` is `ends`. */
export default (task: Task): number => (task.op === 2 ? ends(task.array) : task.op === 0 ? task.n : spin(task.n))
