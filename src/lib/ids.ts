// Time-ordered UUIDv7 ids. The uuid library asks the OS for 16 random bytes per id; on the ingest
// hot path that was 12–17 % of CPU (bench:ingest profile), so randomness is drawn in 4 KB blocks.
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

export type IdGenerator = () => string;

export function createIdGenerator(): IdGenerator {
  const pool = Buffer.alloc(4096);
  let offset = pool.length;
  return () => {
    if (offset + 16 > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const random = pool.subarray(offset, offset + 16);
    offset += 16;
    return v7({ random });
  };
}
