/**
 * The pool's worker entry for the service: every worker serves all its tasks, with the vocabulary and the model
 * weights loaded once per worker.
 */
import { ComputeWorker } from "effect-compute"
import { tasks, workerLayer } from "./tasks.ts"

ComputeWorker.serve({ tasks, layer: workerLayer })
