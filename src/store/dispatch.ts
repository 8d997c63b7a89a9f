// The dispatcher's Redis side: partition leases with fencing tokens, and the fenced scripts that
// claim a partition's head and record an attempt's outcome (lua/head.lua, lua/finish.lua).
// Every write a dispatcher makes for a partition passes through one of them, and each checks
// inside Redis that the caller still holds the lease with the same token (invariant 3).
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

export type DeliveryFields = Record<string, string>;

export interface ClaimedDelivery {
  source: 'front' | 'queue';
  queueEntryId: string;
  fields: DeliveryFields;
  eventHeaders: Record<string, string>;
  body: Buffer;
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
  outcome: FinishOutcome;
  attempt: Record<string, unknown>;
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

function headKeysAndArgs(keys: Keys, lease: Lease, nowMs: number, takeoverMs: number) {
  const k = keys.endpoint(lease.endpointId);
  const p = lease.partition;
  return {
    keys: [k.lease(p), k.queue(p), k.front(p), k.blocked, k.events],
    args: [k.delivery(''), `${lease.owner}:${lease.token}`, nowMs, new Date(nowMs).toISOString(), p, CONSUMER_GROUP,
      consumerName(p), takeoverMs] as Array<string | number>,
  };
}

export async function claimHead(redis: RedisClient, keys: Keys, lease: Lease, nowMs: number, takeoverMs: number): Promise<HeadAnswer> {
  const { keys: ks, args } = headKeysAndArgs(keys, lease, nowMs, takeoverMs);
  return parseHead((await redis.runScriptBuffer('rdHead', ks, args)) as unknown[]);
}

export async function finishAndClaim(
  redis: RedisClient, keys: Keys, lease: Lease, nowMs: number, takeoverMs: number, f: FinishInput,
): Promise<HeadAnswer> {
  const { keys: ks, args } = headKeysAndArgs(keys, lease, nowMs, takeoverMs);
  const k = keys.endpoint(lease.endpointId);
  const delay = f.retryDelayMs;
  const reply = await redis.runScriptBuffer('rdFinish', [...ks, k.delivery(f.deliveryId), k.attempts(f.deliveryId), k.stats, k.endpoint], [
    ...args, f.deliveryId, f.outcome, JSON.stringify(f.attempt), f.source, f.queueEntryId, f.statusCode ?? '', f.responseBody,
    f.error, f.classification, delay ?? '', delay === undefined ? '' : new Date(nowMs + delay).toISOString(), f.retentionSeconds, k.base,
  ]);
  return parseHead(reply as unknown[]);
}

/** Gives back a claimed head that was not sent (see lua/unclaim.lua). */
export async function unclaim(redis: RedisClient, keys: Keys, lease: Lease, deliveryId: string): Promise<boolean> {
  const k = keys.endpoint(lease.endpointId);
  return Number(await redis.runScript('rdUnclaim', [k.lease(lease.partition), k.delivery(deliveryId)], [`${lease.owner}:${lease.token}`])) === 1;
}

const str = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

function parseHead(reply: unknown[]): HeadAnswer {
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
      return { type, delivery: parseClaimed(reply) };
    default:
      throw new Error(`unexpected answer from the head script: ${type}`);
  }
}

function parseClaimed(reply: unknown[]): ClaimedDelivery {
  const fields: DeliveryFields = {};
  let i = 3;
  for (; i < reply.length; i += 2) {
    const name = str(reply[i]);
    if (name === '__event') break;
    fields[name] = str(reply[i + 1]);
  }
  const headersJson = str(reply[i + 1]);
  const body = reply[i + 2];
  return {
    source: str(reply[1]) as 'front' | 'queue',
    queueEntryId: str(reply[2]),
    fields,
    eventHeaders: JSON.parse(headersJson || '{}') as Record<string, string>,
    body: Buffer.isBuffer(body) ? body : Buffer.from(str(body ?? '')),
  };
}
