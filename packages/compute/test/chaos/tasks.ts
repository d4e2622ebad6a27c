/**
 * The chaos run's nested fork-join task: a tree of subtasks spawned from inside workers, several levels deep, whose
 * leaves may fail with a typed error, throw, or kill their worker. The tree is a pure function of its payload, so the
 * caller knows the right value of a clean tree and which leaves a failure may come from.
 */
import { Effect, Schema } from "effect"
import { ComputeParallel, ComputePool, ComputeTask } from "effect-compute"

/** A leaf's typed failure, naming the leaf; it travels up the tree as every level's own typed failure. */
export class TreeFailure extends Schema.TaggedError<TreeFailure>()("TreeFailure", { leaf: Schema.Number }) {}

/** What a faulty leaf does instead of returning its value. */
export const FaultKind = Schema.Literals(["fail", "throw", "exit"])
export type FaultKind = typeof FaultKind.Type

/** The exit code of a leaf that kills its worker. */
export const treeExitCode = 7

const TreeNode = Schema.Struct({
  /** this node's id: the root is 1, child `j` of node `k` is `4k + j` (so ids are unique within a tree) */
  node: Schema.Number,
  /** levels below this node: 0 is a leaf */
  depth: Schema.Number,
  /** varies the shape and the values from one tree to the next */
  salt: Schema.Number,
  /** the leaves that misbehave, and how */
  faults: Schema.Array(Schema.Tuple([Schema.Number, FaultKind]))
})
export type TreeNode = typeof TreeNode.Type

const hash = (node: number, salt: number) => {
  let x = Math.imul(node ^ salt, 0x9E3779B1)
  x ^= x >>> 15
  return Math.imul(x, 0x85EBCA77) >>> 0
}

/** Two or three children: a binary node joins two subtasks, a ternary one maps over three. */
export const fanout = (node: number, salt: number) => 2 + (hash(node, salt) % 2)
export const children = (node: number, salt: number) =>
  Array.from({ length: fanout(node, salt) }, (_, j) => 4 * node + j)
export const leafValue = (node: number, salt: number) => hash(node, salt) % 1_000

/** The value a clean tree sums to, computed here without subtasks. */
export const treeValue = (node: number, depth: number, salt: number): number =>
  depth === 0
    ? leafValue(node, salt)
    : children(node, salt).reduce((sum, child) => sum + treeValue(child, depth - 1, salt), 0)

const sum = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0)

/** The ids of a tree's leaves. */
export const treeLeaves = (node: number, depth: number, salt: number): Array<number> =>
  depth === 0 ? [node] : children(node, salt).flatMap((child) => treeLeaves(child, depth - 1, salt))

/**
 * Sums the tree below `node`: each child is a subtask (`ComputePool.join` of two for a binary node,
 * `ComputeParallel.map` over three for a ternary one), down to the leaves, which sleep 0–2 ms (so that callers'
 * interruptions land mid-tree) and return their value, or misbehave as `faults` says.
 */
export const Tree: ComputeTask.ComputeTask<
  "ChaosTree",
  typeof TreeNode,
  typeof Schema.Number,
  typeof TreeFailure,
  ComputePool.ComputePool
> = ComputeTask.make("ChaosTree", {
  payload: TreeNode,
  success: Schema.Number,
  failure: TreeFailure,
  handler: ({ depth, faults, node, salt }) => {
    if (depth === 0) {
      const fault = faults.find(([leaf]) => leaf === node)?.[1]
      if (fault === "fail") return Effect.fail(new TreeFailure({ leaf: node }))
      if (fault === "throw") throw new RangeError(`chaos tree leaf ${node} threw`)
      if (fault === "exit") process.exit(treeExitCode)
      return Effect.as(Effect.sleep(leafValue(node, salt) % 3), leafValue(node, salt))
    }
    const below = children(node, salt).map((child) => ({ node: child, depth: depth - 1, salt, faults }))
    return below.length === 2
      ? Effect.map(ComputePool.join(ComputePool.execute(Tree, below[0]!), ComputePool.execute(Tree, below[1]!)), sum)
      : Effect.map(ComputeParallel.map(below, Tree, { chunkSize: 1 }), sum)
  }
})
