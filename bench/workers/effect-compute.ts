import { ComputeWorker } from "effect-compute"
import { Noop, ParallelFib, Spin, SumView } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin, SumView, ParallelFib] })
