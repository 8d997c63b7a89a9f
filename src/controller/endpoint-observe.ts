// What the endpoint reconciler reads before planning: the registry entry in Redis and the state of
// the endpoint's partitions (read in src/store/observe.ts, where every Redis access lives).
import { partitionCount, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Registry } from '../store/registry.ts';

export type { HeadFailure, QueueObservation } from '../store/observe.ts';
export { observeQueues } from '../store/observe.ts';

export interface StoredObservation {
  /** The registry entry, undefined when there is none (or it cannot be unsealed). */
  stored?: ResolvedEndpoint;
  /** Set when an entry exists but could not be read (e.g. sealed with another secret key). */
  unreadable?: string;
}

export async function readStored(registry: Registry, id: string): Promise<StoredObservation> {
  try {
    const stored = await registry.get(id);
    return stored ? { stored } : {};
  } catch (err) {
    return { unreadable: err instanceof Error ? err.message : String(err) };
  }
}

/** Partitions to observe for an endpoint whose stored and desired layouts may differ. */
export function partitionsToObserve(...eps: Array<{ spec: ResolvedEndpoint['spec'] } | undefined>): number {
  return Math.max(1, ...eps.filter((e) => e !== undefined).map((e) => partitionCount(e.spec)));
}
