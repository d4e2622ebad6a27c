import { ComputeWorker } from "effect-compute"
import { allTasks, WorkerResourceLive } from "../fixtures/tasks.ts"
import { Tree } from "./tasks.ts"

// The tests' tasks and the chaos run's own nested fork-join tree.
ComputeWorker.serve({ tasks: [...allTasks, Tree], layer: WorkerResourceLive })
