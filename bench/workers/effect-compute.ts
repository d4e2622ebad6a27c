import { ComputeWorker } from "effect-compute"
import { Noop, ParallelFib, Pid, Spin, SumView } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin, SumView, ParallelFib, Pid] })
