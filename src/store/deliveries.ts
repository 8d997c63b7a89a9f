// Reading delivery records and the operator actions on them: resend (seed 001) and unblock.
// Both are single Lua scripts (lua/resend.lua, lua/unblock.lua), so they are atomic with respect
// to the dispatcher's own fenced scripts.
import { v7 as uuidv7 } from 'uuid';
import { partitionCount, type EndpointSpec } from '../domain/endpoint.ts';
import { AppError, conflict, notFound } from '../errors/index.ts';
import { CONSUMER_GROUP, consumerName, type Keys } from './keys.ts';
import { decodeAttempts, decodeDelivery, type Attempt, type DeliveryRecord } from './delivery-record.ts';
import type { RedisClient } from './redis.ts';

export type { Attempt, DeliveryRecord } from './delivery-record.ts';

/** Finds which endpoint holds a delivery id (ids are global; records live under their endpoint's tag). */
export async function locateDelivery(redis: RedisClient, keys: Keys, deliveryId: string): Promise<string | undefined> {
  const ids = await redis.smembers(keys.endpointIndex);
  const found = await Promise.all(ids.map((ep) => redis.exists(keys.endpoint(ep).delivery(deliveryId))));
  return ids[found.findIndex((n) => n === 1)];
}

export async function getDelivery(redis: RedisClient, keys: Keys, endpointId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
  return decodeDelivery(await redis.hgetall(keys.endpoint(endpointId).delivery(deliveryId)), endpointId, deliveryId);
}

export async function getAttempts(redis: RedisClient, keys: Keys, endpointId: string, deliveryId: string): Promise<Attempt[]> {
  const k = keys.endpoint(endpointId);
  const [first, rest] = await Promise.all([redis.hget(k.delivery(deliveryId), 'a1'), redis.lrange(k.attempts(deliveryId), 0, -1)]);
  return decodeAttempts(first, rest);
}

/**
 * A NEW delivery (new id, resend_seq + 1) of the source's event, queued at the tail of its
 * partition. 404 not_found, 409 not_resendable (not DELIVERED/FAILED), 409 endpoint_not_active.
 */
export async function resendDelivery(
  redis: RedisClient, keys: Keys, endpointId: string, sourceId: string, origin = 'resend',
): Promise<{ id: string; resendSeq: number; record: DeliveryRecord }> {
  const k = keys.endpoint(endpointId);
  // The current ordering layout picks the new delivery's partition (lua/lib-partition.lua).
  const json = await redis.hget(k.endpoint, 'config');
  const spec = json ? (JSON.parse(json) as { spec: EndpointSpec }).spec : undefined;
  const newId = uuidv7();
  const reply = (await redis.runScript('rdResend',
    [k.delivery(sourceId), k.delivery(newId), k.endpoint, `${k.base}q:`, k.deliveryLog, k.stats, k.resendSeq, k.eventIndex, k.events],
    [newId, Date.now(), k.wake, endpointId, spec?.ordering.mode ?? 'strict', origin,
      spec ? partitionCount(spec) : 1])) as [string, string?, number?, string[]?];
  switch (reply[0]) {
    case 'ok':
      // The record as created (PENDING): the dispatcher may already be sending it.
      return { id: newId, resendSeq: Number(reply[2]), record: decodeDelivery(reply[3] ?? [], endpointId, newId)! };
    case 'not_found':
      throw notFound(`delivery "${sourceId}" not found`);
    case 'not_resendable':
      throw conflict('not_resendable', `delivery "${sourceId}" is ${reply[1]}; only DELIVERED or FAILED deliveries can be resent`);
    case 'event_expired':
      throw new AppError('event_expired', `the event of delivery "${sourceId}" was removed by retention; it cannot be resent`, 410);
    case 'endpoint_not_active':
      throw conflict('endpoint_not_active', `endpoint "${endpointId}" is ${reply[1]}; resend needs an active endpoint`);
    default:
      throw new AppError('internal_error', `unexpected answer from the resend script: ${reply[0]}`);
  }
}

/**
 * Unblocks a partition held by an exhausted delivery: `retry` it as a new delivery at the head,
 * or `skip` it. 409 not_blocked when the partition is not blocked.
 */
export async function unblockPartition(
  redis: RedisClient, keys: Keys, endpointId: string, partition: number, action: 'retry' | 'skip', retentionSeconds: number,
): Promise<{ blockedId: string; newId: string | undefined; record: DeliveryRecord | undefined }> {
  const k = keys.endpoint(endpointId);
  const blockedId = await redis.hget(k.blocked, String(partition));
  if (!blockedId) throw conflict('not_blocked', `partition ${partition} of endpoint "${endpointId}" is not blocked`);
  const newId = uuidv7();
  const reply = (await redis.runScript('rdUnblock',
    [k.blocked, k.queue(partition), k.front(partition), k.delivery(blockedId), k.delivery(newId), k.deliveryLog, k.resendSeq, k.attempts(blockedId), k.eventIndex],
    [partition, action, newId, Date.now(), CONSUMER_GROUP, consumerName(partition), k.wake, endpointId, retentionSeconds],
  )) as [string, string?, string?, string[]?];
  if (reply[0] !== 'ok') throw conflict('not_blocked', `partition ${partition} of endpoint "${endpointId}" is not blocked`);
  return { blockedId: reply[1]!, newId: reply[2] || undefined, record: reply[2] ? decodeDelivery(reply[3] ?? [], endpointId, reply[2]) : undefined };
}

/** Blocked partitions of an endpoint: partition → delivery id. */
export async function blockedPartitions(redis: RedisClient, keys: Keys, endpointId: string): Promise<Record<string, string>> {
  return redis.hgetall(keys.endpoint(endpointId).blocked);
}
