/**
 * Quick start, part 2: the worker entry. Each pool worker runs this file; it serves the tasks.
 */
import { ComputeWorker } from "effect-compute"
import { CountPrimes, Fib } from "./tasks.ts"

ComputeWorker.serve({ tasks: [Fib, CountPrimes] })
