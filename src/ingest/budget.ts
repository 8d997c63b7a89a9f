// A bound on the request-body bytes ingest holds before their signature is checked. Anyone can
// open connections to an ingest URL, so without it a few hundred slow uploads of the endpoint's
// maximum size pin hundreds of MB. A request reserves its declared length (or the endpoint's
// limit when the length is not declared) before reading, and releases it when it is answered;
// when the budget is spent, it is refused at once with 503 and Retry-After, which providers honour.
export interface BodyBudget {
  /** Reserves `bytes`; false when that would exceed the budget. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  readonly inUse: number;
}

export function createBodyBudget(maxBytes: number): BodyBudget {
  let inUse = 0;
  return {
    reserve(bytes) {
      if (inUse + bytes > maxBytes) return false;
      inUse += bytes;
      return true;
    },
    release(bytes) {
      inUse = Math.max(0, inUse - bytes);
    },
    get inUse() {
      return inUse;
    },
  };
}
