import { ComputeWorker } from "effect-compute"
import { Noop, Spin } from "../tasks.ts"

ComputeWorker.serve({ tasks: [Noop, Spin] })
