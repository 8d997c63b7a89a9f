// Components (ingest, dispatch, api, controller) must not import each other; they share only
// domain/, store/, k8s/, metrics/, config/, errors/, lib/, replay/ (STYLE.md, principle 1).
// domain/ stays pure: it imports nothing with I/O (only node:crypto and other domain/lib files).
// Every Redis access lives in store/: elsewhere no value import of ioredis, no command called on a
// Redis client (`redis.…(`, `subscriber.…(`, other than the connection's lifecycle), and no script
// call, pipeline or transaction. Types from store/ and ioredis may be imported anywhere.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const COMPONENTS = ['ingest', 'dispatch', 'api', 'controller', 'standalone'];
const root = new URL('../src/', import.meta.url).pathname;
const problems: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Methods of a client that are not Redis commands: the connection's lifecycle and state. */
const LIFECYCLE = new Set(['quit', 'disconnect', 'on', 'off', 'once', 'written', 'connect']);
const REDIS_CALL = /\b(redis|subscriber)\??\.(\w+)\(/g;
const SCRIPT_CALL = /\.(runScript|runScriptBatched|runScriptBuffer|pipeline|multi|defineCommand)\(/g;

function redisAccess(rel: string, text: string): string[] {
  const found: string[] = [];
  const line = (index: number) => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/^import (?!type )[^;]*from 'ioredis'/gm)) found.push(`${rel}:${line(m.index)}: imports ioredis (Redis access lives in store/)`);
  for (const m of text.matchAll(REDIS_CALL)) {
    if (!LIFECYCLE.has(m[2]!)) found.push(`${rel}:${line(m.index)}: calls Redis (${m[0]}…) outside store/`);
  }
  for (const m of text.matchAll(SCRIPT_CALL)) found.push(`${rel}:${line(m.index)}: ${m[1]}() outside store/`);
  return found;
}

for (const file of walk(root)) {
  const rel = relative(root, file);
  const own = rel.split('/')[0]!;
  const text = readFileSync(file, 'utf8');
  if (own !== 'store') problems.push(...redisAccess(rel, text));
  for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
    const target = relative(root, join(file, '..', m[1]!)).split('/')[0]!;
    if (COMPONENTS.includes(own) && COMPONENTS.includes(target) && target !== own) problems.push(`${rel} imports ${target}/ (${m[1]})`);
    if (own === 'domain' && !['domain', 'lib'].includes(target)) problems.push(`${rel}: domain/ must stay pure but imports ${m[1]}`);
  }
}
if (problems.length > 0) {
  console.error(`component boundaries broken:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('component boundaries and Redis access: ok');
