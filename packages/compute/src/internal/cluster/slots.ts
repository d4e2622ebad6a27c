/**
 * Which entity a call goes to. A fixed set of entity ids, one per shard: calls taken round-robin over them land on
 * every shard alike, so each runner gets calls in proportion to the shards it holds (its `runnerShardWeight`, set to
 * its threads). A call with a key always takes the same id, so it stays on one runner while the shards do not move.
 * Never a fresh entity per call: an entity is a mailbox and a fiber on its runner, built once and reused.
 */
import * as EntityId from "effect/cluster/EntityId"
import type * as ShardId from "effect/cluster/ShardId"

/** The ids tried per shard before giving up on covering every shard (a shard no id hashes to stays unused). */
const triesPerShard = 64

/**
 * Entity ids, one for each shard of `group` that some `slot-<n>` hashes to, in shard order. Deterministic: every
 * client computes the same list, so a key maps to the same entity id everywhere (persisted calls rely on it).
 */
export const covering = (
  shards: number,
  group: string,
  shardOf: (entityId: EntityId.EntityId, group: string) => ShardId.ShardId
): ReadonlyArray<EntityId.EntityId> => {
  const byShard = new Map<number, EntityId.EntityId>()
  for (let n = 0; byShard.size < shards && n < shards * triesPerShard; n++) {
    const id = EntityId.make(`slot-${n}`)
    const shard = shardOf(id, group).id
    if (!byShard.has(shard)) byShard.set(shard, id)
  }
  return [...byShard.entries()].toSorted(([a], [b]) => a - b).map(([, id]) => id)
}

/** FNV-1a over UTF-16 code units: a stable hash of a call's key. */
export const hashKey = (key: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Picks the entity for each call: round-robin without a key, by the key's hash with one. */
export const picker = (ids: ReadonlyArray<EntityId.EntityId>) => {
  let next = 0
  return (key: string | undefined): EntityId.EntityId => {
    if (key !== undefined) return ids[hashKey(key) % ids.length]!
    next = (next + 1) % ids.length
    return ids[next]!
  }
}
