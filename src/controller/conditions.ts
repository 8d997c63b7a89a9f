// metav1.Condition bookkeeping, pure: a condition keeps its lastTransitionTime while its status
// stays the same (reason and message may change without a "transition"), and never has an empty
// reason or message (the API server rejects "").
import type { Condition } from '../k8s/resources.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The new list: `next` in order, each keeping the old transition time if its status is unchanged. */
export function mergeConditions(prev: readonly Condition[] | undefined, next: readonly ConditionInput[], generation: number, now: Date): Condition[] {
  return next.map((c) => {
    const old = prev?.find((p) => p.type === c.type);
    return {
      type: c.type,
      status: c.status,
      observedGeneration: generation,
      lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z'),
      reason: c.reason || 'Unspecified',
      message: c.message || c.reason || 'no detail',
    };
  });
}

export function findCondition(list: readonly Condition[] | undefined, type: string): Condition | undefined {
  return list?.find((c) => c.type === type);
}

/** Deep equality of two JSON-like values (status objects), key order ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** 200 → "3m20s"; 0 → "0s". */
export function humanDuration(seconds: number): string {
  let s = Math.max(0, Math.floor(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  if (s > 0 || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}
