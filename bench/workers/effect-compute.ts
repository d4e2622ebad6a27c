import { ComputeWorker } from "effect-compute"
import { ForkSum, NestedMap, Noop, ParallelFib, Pid, SpawnNoops, Spin, SumView } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin, SumView, ParallelFib, ForkSum, SpawnNoops, NestedMap, Pid] })
