// The dispatcher's Redis side: partition leases with fencing tokens, and the fenced scripts that
// claim a partition's head and record an attempt's outcome (lua/head.lua, lua/finish.lua).
// Every write a dispatcher makes for a partition passes through one of them, and each checks
// inside Redis that the caller still holds the lease with the same token (one owner: docs/guarantees.md).
import { encodeAttempt, isoOfMs, type Attempt } from './delivery-record.ts';
import { CONSUMER_GROUP, consumerName, type Keys } from './keys.ts';
import type { RedisClient } from './redis.ts';

export interface PartitionRef {
  endpointId: string;
  partition: number;
}

export interface Lease extends PartitionRef {
  owner: string;
  token: number;
}

/** A delivery as the dispatcher sends it: the head it claimed, or the look-ahead after it. */
export interface ClaimedDelivery {
  source: 'front' | 'queue';
  queueEntryId: string;
  id: string;
  eventId: string;
  eventType: string;
  /** This attempt's number (for a look-ahead: the number it gets once claimed). */
  attempt: number;
  maxAttempts: number;
  resendSeq: string;
  /** A replay's destination override ('' = the endpoint's own). */
  destinationUrl: string;
  /** When this attempt was claimed (ISO, Redis' clock); '' for a look-ahead. */
  startedAt: string;
  eventHeaders: Record<string, string>;
  body: Buffer;
  /** The partition's next delivery, read but not claimed in the same script (pipelining). */
  next?: ClaimedDelivery;
}

export type HeadAnswer =
  | { type: 'fenced' }
  | { type: 'stale' }
  | { type: 'empty' }
  | { type: 'blocked'; deliveryId: string }
  | { type: 'wait'; ms: number }
  | { type: 'expired'; deliveryId: string }
  | { type: 'send'; delivery: ClaimedDelivery };

export type FinishOutcome = 'delivered' | 'retry' | 'deadletter' | 'block';

export interface FinishInput {
  deliveryId: string;
  /** The attempt this outcome is for. */
  attemptNumber: number;
  outcome: FinishOutcome;
  attempt: Attempt;
  source: 'front' | 'queue';
  queueEntryId: string;
  statusCode: number | undefined;
  responseBody: string;
  error: string;
  classification: string;
  /** Retry delay (ms from now by Redis' clock); undefined unless the outcome is retry. */
  retryDelayMs: number | undefined;
  retentionSeconds: number;
}

export async function acquireLease(redis: RedisClient, keys: Keys, ref: PartitionRef, owner: string, ttlMs: number): Promise<number> {
  const k = keys.endpoint(ref.endpointId);
  return Number(await redis.runScript('rdLease', [k.lease(ref.partition), k.fence(ref.partition)], [owner, ttlMs, 'acquire', '']));
}

export async function releaseLease(redis: RedisClient, keys: Keys, lease: Lease): Promise<void> {
  const k = keys.endpoint(lease.endpointId);
  await redis.runScript('rdLease', [k.lease(lease.partition), k.fence(lease.partition)], [lease.owner, 0, 'release', lease.token]);
}

/**
 * Options of the head scripts. `call` identifies one logical call: a repeat of it (ioredis resends
 * a command whose answer was lost; the worker retries after an error) must pass the same id, and
 * then gets the same answer instead of finding its own claim "left in flight".
 */
export interface HeadCall {
  call: string;
  /** Also read the delivery after the head (see `ClaimedDelivery.next`). */
  peek?: boolean;
  /** A delivery the caller has already sent as the head: the answer confirms it, or names the real head in full. */
  sentNext?: ClaimedDelivery;
}

function headKeysAndArgs(keys: Keys, lease: Lease, nowMs: number, takeoverMs: number, c: HeadCall) {
  const k = keys.endpoint(lease.endpointId);
  const p = lease.partition;
  return {
    keys: [k.lease(p), k.queue(p), k.front(p), k.blocked, k.events],
    args: [k.delivery(''), `${lease.owner}:${lease.token}`, c.peek ? '1' : '', nowMs, p, CONSUMER_GROUP,
      consumerName(p), takeoverMs, c.sentNext?.id ?? '', c.call] as Array<string | number>,
  };
}

/** Claims the partition's head (see `HeadCall`). */
export async function claimHead(redis: RedisClient, keys: Keys, lease: Lease, nowMs: number, takeoverMs: number, c: HeadCall): Promise<HeadAnswer> {
  const { keys: ks, args } = headKeysAndArgs(keys, lease, nowMs, takeoverMs, c);
  return parseHead((await redis.runScriptBuffer('rdHead', ks, args)) as unknown[], c.sentNext);
}

/** A wake-up on a dispatcher's own channel (keys.ts EndpointKeys.ownerWake): the partition and its new head. */
export interface OwnerWake {
  /** `endpointId|partition`. */
  partition: string;
  delivery: ClaimedDelivery;
}

export function parseOwnerWake(message: Buffer): OwnerWake {
  const nl = message.indexOf(10);
  if (nl < 0) throw new Error('wake-up without a body separator');
  const m = JSON.parse(message.subarray(0, nl).toString('utf8')) as { ep: string; p: number; q: string; d: string; e: string; t: string; m: number; h: string };
  return {
    partition: `${m.ep}|${m.p}`,
    delivery: {
      source: 'queue', queueEntryId: m.q, id: m.d, eventId: m.e, eventType: m.t, attempt: 1, maxAttempts: m.m, resendSeq: '0',
      destinationUrl: '', startedAt: '', eventHeaders: JSON.parse(m.h || '{}') as Record<string, string>, body: message.subarray(nl + 1),
    },
  };
}

/** Records the outcome of the head in flight (attempt `f.attemptNumber`) and claims the next head (see `HeadCall`). */
export async function finishAndClaim(
  redis: RedisClient, keys: Keys, lease: Lease, nowMs: number, takeoverMs: number, f: FinishInput, c: HeadCall,
): Promise<HeadAnswer> {
  const { keys: ks, args } = headKeysAndArgs(keys, lease, nowMs, takeoverMs, c);
  const k = keys.endpoint(lease.endpointId);
  const delay = f.retryDelayMs;
  const reply = await redis.runScriptBuffer('rdFinish', [...ks, k.delivery(f.deliveryId), k.attempts(f.deliveryId), k.stats, k.endpoint], [
    ...args, f.deliveryId, f.outcome, encodeAttempt(f.attempt), f.source, f.queueEntryId, f.statusCode ?? '', f.responseBody,
    f.error, f.classification, delay ?? '', f.retentionSeconds, k.base, f.attemptNumber,
  ]);
  return parseHead(reply as unknown[], c.sentNext);
}

/**
 * Records an attempt sent ahead whose claim Redis never confirmed (see lua/early-sent.lua): into
 * the delivery's history, with its counter moved past `attemptNumber`. Not fenced.
 */
export async function recordEarlySend(
  redis: RedisClient, keys: Keys, endpointId: string, deliveryId: string, attemptNumber: number, attempt: Attempt, nowMs: number,
): Promise<number> {
  const k = keys.endpoint(endpointId);
  return Number(await redis.runScript('rdEarlySent', [k.delivery(deliveryId), k.attempts(deliveryId)], [attemptNumber, encodeAttempt(attempt), nowMs]));
}

/**
 * Gives a delivery that ended outside finish.lua (the head scripts failed it as event_expired) the
 * retention TTL that finish.lua gives every ended delivery, its attempts list included.
 */
export async function expireEnded(redis: RedisClient, keys: Keys, endpointId: string, deliveryId: string, retentionSeconds: number): Promise<void> {
  if (!(retentionSeconds > 0)) return;
  const k = keys.endpoint(endpointId);
  await Promise.all([redis.expire(k.delivery(deliveryId), retentionSeconds), redis.expire(k.attempts(deliveryId), retentionSeconds)]);
}

/** Gives back a claimed head that was not sent (see lua/unclaim.lua). */
export async function unclaim(redis: RedisClient, keys: Keys, lease: Lease, deliveryId: string): Promise<boolean> {
  const k = keys.endpoint(lease.endpointId);
  return Number(await redis.runScript('rdUnclaim', [k.lease(lease.partition), k.delivery(deliveryId)], [`${lease.owner}:${lease.token}`])) === 1;
}

const str = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function parseHead(reply: unknown[], sentNext?: ClaimedDelivery): HeadAnswer {
  const type = str(reply[0]);
  switch (type) {
    case 'fenced':
    case 'stale':
    case 'empty':
      return { type };
    case 'blocked':
    case 'expired':
      return { type, deliveryId: str(reply[1]) };
    case 'wait':
      return { type, ms: Number(reply[1]) };
    case 'send':
      return { type, delivery: withNext(parseDelivery(reply, 1), reply, 13) };
    case 'same': {
      // The head is the look-ahead the caller already sent: the script only confirms the claim.
      if (!sentNext) throw new Error('the head script answered "same" without a delivery sent ahead');
      const delivery: ClaimedDelivery = {
        ...sentNext, source: str(reply[1]) as 'front' | 'queue', queueEntryId: str(reply[2]), attempt: Number(str(reply[3])),
        startedAt: isoOfMs(str(reply[4])), next: undefined,
      };
      return { type: 'send', delivery: withNext(delivery, reply, 5) };
    }
    default:
      throw new Error(`unexpected answer from the head script: ${type}`);
  }
}

/** Reads lib-head.lua's layout at `at`: source, queue entry id, then `describe`'s ten values. */
function parseDelivery(reply: unknown[], at: number): ClaimedDelivery {
  const v = (i: number) => str(reply[at + i]);
  const body = reply[at + 11];
  return {
    source: v(0) as 'front' | 'queue',
    queueEntryId: v(1),
    id: v(2),
    eventId: v(3),
    eventType: v(4),
    attempt: Number(v(5)),
    maxAttempts: Number(v(6)),
    resendSeq: v(7) || '0',
    destinationUrl: v(8),
    startedAt: isoOfMs(v(9)),
    eventHeaders: JSON.parse(v(10) || '{}') as Record<string, string>,
    body: Buffer.isBuffer(body) ? body : Buffer.from(str(body ?? '')),
  };
}

/** The look-ahead (`'__next', qid, describe…`) at `at`, if the script added one. */
function withNext(delivery: ClaimedDelivery, reply: unknown[], at: number): ClaimedDelivery {
  if (reply.length <= at || str(reply[at]) !== '__next') return delivery;
  // Same layout as a head, with 'queue' as its source and no start time.
  const shifted = ['', 'queue', ...reply.slice(at + 1)];
  return { ...delivery, next: parseDelivery(shifted, 1) };
}
