// Id formats checked at the edge: every id Redeliver hands out (events, deliveries, replays) is a
// UUID. Anything else is answered 404 invalid_id before Redis is asked — an id is spliced into a
// key name, and `<id>:attempts` would otherwise name another key of another type.
import { AppError } from '../errors/index.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isId = (id: string) => UUID.test(id);

export function checkId(id: string, kind: 'delivery' | 'event' | 'replay'): void {
  if (!isId(id)) {
    throw new AppError('invalid_id', `no ${kind} "${id.slice(0, 80)}": ${kind} ids are UUIDs such as 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b`, 404);
  }
}
