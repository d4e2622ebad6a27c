import { ComputeWorker } from "effect-compute"
import { ArrayEnds, ForkSum, NestedMap, Noop, ParallelFib, Pid, SpawnNoops, Spin, SumView } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin, SumView, ArrayEnds, ParallelFib, ForkSum, SpawnNoops, NestedMap, Pid] })
