import { spin } from "../workload.ts"

/** tinypool's task function, the same contract as Piscina's: `{ op: 0 }` is a no-op, `{ op: 1, n }` spins n. */
export default ({ op, n }: { op: number; n: number }): number => (op === 0 ? n : spin(n))
