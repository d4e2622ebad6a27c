/**
 * The pool's worker entry for the pattern examples.
 */
import { ComputeWorker } from "effect-compute"
import { CountPrimesIn, Crawl, Fib, SummarizeBatch } from "./tasks.ts"

ComputeWorker.serve({ tasks: [Crawl, CountPrimesIn, Fib, SummarizeBatch] })
