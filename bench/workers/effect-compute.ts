import { ComputeWorker } from "effect-compute"
import { Noop, ParallelFib, Pid, SpawnNoops, Spin, SumView } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin, SumView, ParallelFib, SpawnNoops, Pid] })
