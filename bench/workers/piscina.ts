import { spin } from "../workload.ts"

/** Piscina's task function: `{ op: 0 }` is a no-op, `{ op: 1, n }` spins n iterations. */
export default ({ op, n }: { op: number; n: number }): number => (op === 0 ? n : spin(n))
