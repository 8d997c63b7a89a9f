// One partition's delivery loop, run only while this dispatcher holds the partition's lease. Its
// decisions are pure steps (steps.ts: request, settle, keepsWokenHead; gate.ts); this file
// performs them: the head scripts, the requests, sleeping and wake-ups.
//
// Order (docs/guarantees.md): the loop handles one delivery at a time — the head. The next head is only
// claimed inside the same fenced script that records the current one as DELIVERED, FAILED-and-
// passed (deadletter) or scheduled for retry (it then stays the head). A lost lease ends the loop;
// the new owner re-sends an in-flight head (same webhook-id) only after its request must have
// timed out. Before each send the loop also checks its lease is still valid by its own monotonic
// clock, so a process frozen (SIGSTOP, GC) past its lease does not send once it resumes.
//
// Pipelining: the claim also reads the delivery after the head (not claimed). When the head
// comes back 2xx, the loop writes the script that records it DELIVERED and claims that next one
// to Redis first, then sends the next one at once, without waiting for Redis to answer. So N+1
// leaves only after N's 2xx, and its claim is on the wire before its request; the script checks
// that the head it claims is the one already sent. If the process dies in between, Redis still
// says N is SENDING (or N+1 is): the successor re-sends from there, after the takeover wait,
// which also covers the pipelined request (it starts within PIPELINE_WINDOW_MS of N's claim,
// gate.ts, and gets the endpoint's timeout). Receivers may then see N+1 before N's repeat, never
// before N. An idle partition works the same way with the head a wake-up brings (ingest publishes the new
// head with its event to the owner when the queue was empty): claim written first, then sent.
//
// A delivery sent ahead whose claim Redis did not confirm (the lease expired while Redis was
// frozen or unreachable, or the queue changed) is recorded anyway once its request is over
// (recordEarlySend): its attempt joins the history and the delivery's attempt counter moves past
// the number it was sent under, so the next owner sends it again under a new number.
//
// Exhausted heads of ordered scopes (onExhausted block) stay at the head and are tried again every
// blockedRetrySeconds (domain/outcome.ts decide), so a scope blocked by an outage resumes by itself.
import { randomUUID } from 'node:crypto';
import { isPaused, type ResolvedEndpoint } from '../domain/endpoint.ts';
import type { Shared } from '../lib/runtime.ts';
import { claimHead, expireEnded, finishAndClaim, recordEarlySend, unclaim, type ClaimedDelivery, type FinishInput, type HeadAnswer, type Lease } from '../store/dispatch.ts';
import { createAttemptReport } from './attempt.ts';
import { gate } from './gate.ts';
import { keepsWokenHead, request, settle, streamIdAfter, unconfirmedAttempt } from './steps.ts';
import { errorMessage } from '../errors/index.ts';
import type { OutageLog } from '../lib/outage.ts';
import type { RedisClient } from '../store/redis.ts';
import type { Sender, SendResult } from './sender.ts';

/** How long an attempt's outcome is retried against an unreachable Redis before giving up. */
const FINISH_RETRY_MS = 60_000;
/** How long the record of an attempt sent ahead is retried against an unreachable Redis. */
const UNCONFIRMED_RETRY_MS = 10 * 60_000;

export interface WorkerDeps {
  shared: Shared;
  /** The dispatcher's own connection (no auto-pipelining) for the fenced scripts. */
  redis: RedisClient;
  sender: Sender;
  lease: Lease;
  /** Monotonic time (performance.now()) until which the lease is surely still ours. */
  leaseValidUntil: () => number;
  now: () => number;
  random: () => number;
  idlePollMs: number;
  onLost: () => void;
  /** Redis trouble is logged once per outage for the whole dispatcher, not once per call. */
  outage: OutageLog;
  /**
   * The newest queue entry claimed in this partition, kept by the dispatcher across the workers it
   * runs for it: a wake-up about an entry at or before it is old news.
   */
  seen?: { lastQueueEntry: string };
}

/** The loop's state: an answer from the head scripts, or a pipelined delivery already sent. */
type Step = HeadAnswer | { type: 'sent'; delivery: ClaimedDelivery; sending: Promise<SendResult>; ep: ResolvedEndpoint };

export interface Worker {
  /**
   * New work for the partition. `head`: its new head with the event, from a wake-up that says the
   * queue went from empty to this one delivery; sent at once (its claim on the way) if the loop is
   * idle on an empty partition and has not claimed that entry already.
   */
  wake(head?: ClaimedDelivery): void;
  /** Stops after the attempt in flight, if any. Idempotent. */
  stop(): Promise<void>;
}

export function startWorker(d: WorkerDeps): Worker {
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  // A wake that came while the loop was not asleep — say between a claim that found the partition
  // empty and the sleep after it — makes the next sleep return at once instead of being lost.
  let wokeSinceClaim = false;
  // Asleep after a claim found the partition empty, and the head a wake-up brought meanwhile.
  let idleOnEmpty = false;
  let wokenHead: ClaimedDelivery | undefined;
  const seen = d.seen ?? { lastQueueEntry: '0-0' };
  const { shared, lease } = d;
  // Every call of the head scripts gets an id; its retries reuse it (see HeadCall).
  const callPrefix = randomUUID().slice(0, 8);
  let calls = 0;
  const endpoint = () => shared.endpoints.get(lease.endpointId);

  const sleep = (ms: number) =>
    new Promise<void>((ok) => {
      if (wokeSinceClaim) {
        wokeSinceClaim = false;
        ok();
        return;
      }
      const t = setTimeout(done, Math.max(1, ms));
      function done() {
        clearTimeout(t);
        wakeUp = undefined;
        ok();
      }
      wakeUp = done;
    });

  const takeoverMs = () => (endpoint()?.spec.destination.timeoutSeconds ?? 30) * 1000 + 1000;

  // When the head in hand was claimed: the request's timeout counts from then, since a successor
  // counts its takeover wait from the claim too (a stall before sending must not stretch it).
  let claimedAt = 0;
  const noteClaim = async (p: Promise<HeadAnswer>) => {
    wokeSinceClaim = false; // the claim just written sees whatever that wake announced
    const answer = await p;
    claimedAt = performance.now();
    if (answer.type === 'send' && answer.delivery.source === 'queue' && streamIdAfter(answer.delivery.queueEntryId, seen.lastQueueEntry)) {
      seen.lastQueueEntry = answer.delivery.queueEntryId;
    }
    return answer;
  };

  /**
   * One call of the head scripts, retried with the same call id while Redis is unreachable: a
   * repeat is answered like the first run, so an answer lost with the connection costs nothing,
   * and giving up early would lose an attempt's real outcome (and re-send a delivered event).
   */
  const headCall = async (what: string, run: (call: string) => Promise<HeadAnswer>): Promise<HeadAnswer> => {
    const call = `${callPrefix}-${++calls}`;
    const giveUpAt = performance.now() + FINISH_RETRY_MS;
    for (let i = 0; ; i++) {
      try {
        const answer = await noteClaim(run(call));
        d.outage.succeeded();
        return answer;
      } catch (err) {
        if (performance.now() > giveUpAt) throw err;
        d.outage.failed(err, { endpoint: lease.endpointId, partition: lease.partition, doing: what });
        await recoverGroups(err);
        await new Promise((ok) => setTimeout(ok, Math.min(100 * 2 ** i, 2000)));
      }
    }
  };

  /** A Redis restarted without its data has no consumer groups: make them again (NOGROUP). */
  const recoverGroups = async (err: unknown) => {
    if (!errorMessage(err).includes('NOGROUP')) return;
    const ep = endpoint();
    if (ep) await shared.registry.ensureGroups(ep).catch(() => undefined);
  };

  // Pipelining needs a steady pace: no rate limit (spacing sends would defeat it).
  const peek = () => endpoint()?.spec.rateLimit === undefined;
  const claim = () => headCall('claiming the head', (call) => claimHead(d.redis, shared.keys, lease, d.now(), takeoverMs(), { call, peek: peek() }));
  /**
   * Whether what was just written to Redis has left this process (not queued while reconnecting,
   * nor buffered in the socket): only then may a delivery be sent before Redis answers its claim.
   */
  const written = () => d.redis.written();

  const step = async (answer: Step): Promise<Step | undefined> => {
    switch (answer.type) {
      case 'fenced':
      case 'stale':
        return undefined;
      case 'empty': {
        idleOnEmpty = true;
        await sleep(d.idlePollMs);
        idleOnEmpty = false;
        const head = wokenHead;
        wokenHead = undefined;
        if (stopped) return undefined;
        return head ? sendWoken(head) : claim();
      }
      case 'blocked':
        // Held until an operator's unblock (a blocked head that is retried answers 'wait').
        await sleep(d.idlePollMs);
        return stopped ? undefined : claim();
      case 'wait':
        await sleep(Math.min(answer.ms, d.idlePollMs));
        return stopped ? undefined : claim();
      case 'expired': {
        shared.log.warn({ endpoint: lease.endpointId, delivery: answer.deliveryId }, 'delivery failed: its event was removed by retention');
        // Ended outside finish.lua: it gets the retention TTL every ended delivery has (best effort;
        // retention removes what is left when it cannot).
        const seconds = endpoint()?.spec.retention.seconds ?? 0;
        await expireEnded(d.redis, shared.keys, lease.endpointId, answer.deliveryId, seconds).catch(() => undefined);
        return claim();
      }
      case 'send':
        return deliver(answer.delivery);
      case 'sent':
        return deliver(answer.delivery, answer.sending, answer.ep);
    }
  };

  /** Gives the claimed head back unsent (stopping, lease expired by our clock, or paused). */
  const giveBack = (claimed: ClaimedDelivery) => unclaim(d.redis, shared.keys, lease, claimed.id);

  /** Paused: the head goes back unsent; claim again once resumed. */
  const whilePaused = async (claimed: ClaimedDelivery): Promise<HeadAnswer | undefined> => {
    await giveBack(claimed);
    let ep = endpoint();
    while (!stopped && ep && isPaused(ep)) {
      await sleep(d.idlePollMs);
      ep = endpoint();
    }
    return stopped || !ep ? undefined : claim();
  };

  // When this partition last sent (spec.rateLimit spacing, gate.ts).
  let lastSendAt = -Infinity;
  const clock = () => ({ now: performance.now(), claimedAt, leaseValidUntil: d.leaseValidUntil(), lastSendAt });

  /** Not yet (rate limit): give the head back rather than hold it (its timeout counts from the claim). */
  const later = async (claimed: ClaimedDelivery, waitMs: number) => {
    await giveBack(claimed);
    await sleep(waitMs);
    return stopped ? undefined : claim();
  };

  /** Sends the claimed head, or hands it back (or waits) when it must not go now (gate.ts). */
  const sendHead = async (ep: ResolvedEndpoint, claimed: ClaimedDelivery): Promise<Step | undefined> => {
    const g = gate(ep, clock());
    switch (g.kind) {
      case 'paused':
        return whilePaused(claimed);
      case 'later':
        return later(claimed, g.waitMs);
      case 'giveBack':
        await giveBack(claimed);
        return undefined;
      case 'send':
        lastSendAt = performance.now();
        return deliver(claimed, send(ep, claimed, g.budgetMs), ep);
    }
  };

  /** Awaits the head's request, records the outcome and claims the next head (pipelined when it may). */
  const deliver = async (claimed: ClaimedDelivery, sending?: Promise<SendResult>, sentWith?: ResolvedEndpoint): Promise<Step | undefined> => {
    // A request already sent is recorded with the endpoint it was sent for, even if that is gone since.
    const ep = sentWith ?? endpoint();
    if (!ep || (stopped && !sending)) {
      await giveBack(claimed); // deleted, or stopping: it goes back unsent
      return undefined;
    }
    if (!sending) return sendHead(ep, claimed);
    const sent = await sending;
    const { decision, finish, pipelined } = settle(ep, claimed, sent, { nowMs: d.now(), random: d.random(), stopped, clock: clock() });
    // Pipelined: the script that records this one and claims the look-ahead is written to Redis
    // first, then the look-ahead is sent without waiting for its answer. Metrics and the log line
    // come after both are on their way, off the path between one request and the next.
    const next = pipelined ? sendEarly(ep, pipelined, recordOutcome(finish, pipelined), 'lookahead') : recordOutcome(finish);
    try {
      report(ep, claimed, sent, decision);
    } catch {
      // Metrics and logging never stand between an attempt and its record.
    }
    return next;
  };

  /**
   * Sends `sent` while `claimed` — the script that claims it, just written — is on its way, and
   * keeps it only if the claim names it. If the script has not left the process yet (Redis
   * reconnecting, socket buffer not empty), nothing is sent early: the answer is returned and the
   * delivery goes the normal way once Redis has claimed it.
   */
  const sendEarly = async (ep: ResolvedEndpoint, sent: ClaimedDelivery, claimed: Promise<HeadAnswer>,
    via: 'lookahead' | 'wakeup'): Promise<Step | undefined> => {
    if (!written()) return claimed;
    lastSendAt = performance.now();
    shared.metrics.dispatchPipelined.inc({ endpoint: ep.id, via });
    const sending = send(ep, sent, ep.spec.destination.timeoutSeconds * 1000);
    const startedAt = new Date(d.now()).toISOString();
    let answer: HeadAnswer;
    try {
      answer = await claimed;
    } catch (err) {
      // Never a second request for it while this one may still run, and its attempt is recorded
      // before anything is claimed again.
      await recordUnconfirmed(ep, sent, startedAt, await sending);
      throw err;
    }
    if (answer.type === 'send' && answer.delivery.id === sent.id) return { type: 'sent', delivery: answer.delivery, sending, ep };
    // Not confirmed (lease lost, or the queue changed under us): its attempt is recorded as sent
    // ahead, and the partition's owner sends it again in order under a later number. A head claimed
    // instead goes back at once (its timeout would run while this request finishes).
    shared.metrics.dispatchPipelineMisses.inc({ endpoint: ep.id });
    shared.log.warn({ endpoint: ep.id, partition: lease.partition, delivery: sent.id, attempt: sent.attempt, answer: answer.type },
      'delivery sent ahead was not confirmed by Redis; recorded, and it will be sent again in order');
    if (answer.type === 'send') await giveBack(answer.delivery);
    await recordUnconfirmed(ep, sent, startedAt, await sending);
    if (answer.type !== 'send') return answer;
    return stopped ? undefined : claim();
  };

  /**
   * Records a request that left without a confirmed claim (see the top of this file), retried
   * while Redis is unreachable: nothing may claim this partition's next head before it lands.
   */
  const recordUnconfirmed = async (ep: ResolvedEndpoint, sent: ClaimedDelivery, startedAt: string, result: SendResult) => {
    const attempt = unconfirmedAttempt(ep, sent, startedAt, result, d.now());
    const giveUpAt = performance.now() + UNCONFIRMED_RETRY_MS;
    for (let i = 0; ; i++) {
      try {
        await recordEarlySend(d.redis, shared.keys, lease.endpointId, sent.id, sent.attempt, attempt, d.now());
        d.outage.succeeded();
        return;
      } catch (err) {
        if (performance.now() > giveUpAt) {
          shared.log.error({ endpoint: ep.id, delivery: sent.id, attempt: sent.attempt, err: errorMessage(err) }, 'could not record an attempt sent ahead');
          return;
        }
        d.outage.failed(err, { endpoint: lease.endpointId, partition: lease.partition, doing: 'recording an attempt sent ahead' });
        await new Promise((ok) => setTimeout(ok, Math.min(100 * 2 ** i, 2000)));
      }
    }
  };

  /**
   * The head a wake-up brought to an idle partition: its claim is written to Redis first, then it
   * is sent without waiting for the answer (as a pipelined delivery; see the top of this file).
   * No head was in flight, so a successor's takeover wait counts from this claim.
   */
  const sendWoken = async (head: ClaimedDelivery): Promise<Step | undefined> => {
    const ep = endpoint();
    if (!ep || stopped || isPaused(ep) || ep.spec.rateLimit !== undefined || performance.now() >= d.leaseValidUntil()) return claim();
    const claimed = headCall('claiming a woken head', (call) =>
      claimHead(d.redis, shared.keys, lease, d.now(), takeoverMs(), { call, peek: peek(), sentNext: head }));
    return sendEarly(ep, head, claimed, 'wakeup');
  };

  /** Records the outcome of a request that was sent and claims the next head (see headCall). */
  const recordOutcome = (finish: FinishInput, sentNext?: ClaimedDelivery): Promise<HeadAnswer> =>
    headCall('recording an attempt', (call) =>
      finishAndClaim(d.redis, shared.keys, lease, d.now(), takeoverMs(), finish, { call, peek: peek(), sentNext }));

  const send = (ep: ResolvedEndpoint, c: ClaimedDelivery, timeoutMs: number): Promise<SendResult> => {
    const r = request(ep, c, d.now());
    // The SSRF guard applies to a replay's destination override alike (sender.ts).
    return d.sender.send(r.url, r.headers, r.body, timeoutMs);
  };

  const report = createAttemptReport(shared, lease.partition, d.now);

  const run = async () => {
    let answer: Step | undefined = await claim();
    // A pipelined delivery already sent is still recorded after a stop (mayPipeline then sends no more).
    while (answer && (!stopped || answer.type === 'sent')) answer = await step(answer);
    // Stopped right after finish claimed the next head: hand it back for the next owner.
    if (answer?.type === 'send') await giveBack(answer.delivery);
  };

  const loop = (async () => {
    while (!stopped) {
      try {
        await run();
        if (!stopped) d.onLost();
        return;
      } catch (err) {
        // Redis unreachable or restarted: back off and try again; nothing is lost (the head stays).
        d.outage.failed(err, { endpoint: lease.endpointId, partition: lease.partition, doing: 'dispatching' });
        await recoverGroups(err);
        await sleep(500);
      }
    }
  })();

  return {
    wake: (head) => {
      if (head && keepsWokenHead(head, { idleOnEmpty, asleep: wakeUp !== undefined, lastQueueEntry: seen.lastQueueEntry })) wokenHead = head;
      if (wakeUp) wakeUp();
      else wokeSinceClaim = true;
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
    },
  };
}
