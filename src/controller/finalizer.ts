// JSON patches that add or remove the controller's finalizer. Each carries a `test`, so a change
// made by someone else in between makes the patch fail (422, retried) instead of being lost.
import type { JsonPatchOp } from '../k8s/client.ts';
import { FINALIZER, type ObjectMeta } from '../k8s/resources.ts';

export function addFinalizerPatch(obj: { metadata: ObjectMeta }): JsonPatchOp[] {
  const test: JsonPatchOp = { op: 'test', path: '/metadata/resourceVersion', value: obj.metadata.resourceVersion };
  return obj.metadata.finalizers
    ? [test, { op: 'add', path: '/metadata/finalizers/-', value: FINALIZER }]
    : [test, { op: 'add', path: '/metadata/finalizers', value: [FINALIZER] }];
}

/** undefined when the finalizer is not there (nothing to do). */
export function removeFinalizerPatch(obj: { metadata: ObjectMeta }): JsonPatchOp[] | undefined {
  const i = (obj.metadata.finalizers ?? []).indexOf(FINALIZER);
  if (i < 0) return undefined;
  return [{ op: 'test', path: `/metadata/finalizers/${i}`, value: FINALIZER }, { op: 'remove', path: `/metadata/finalizers/${i}` }];
}
