// Components (ingest, dispatch, api, controller) must not import each other; they share only
// domain/, store/, k8s/, metrics/, config/, errors/, lib/, replay/ (STYLE.md, principle 1).
// domain/ stays pure: it imports nothing with I/O (only node:crypto and other domain/lib files).
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

for (const file of walk(root)) {
  const rel = relative(root, file);
  const own = rel.split('/')[0]!;
  for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
    const target = relative(root, join(file, '..', m[1]!)).split('/')[0]!;
    if (COMPONENTS.includes(own) && COMPONENTS.includes(target) && target !== own) problems.push(`${rel} imports ${target}/ (${m[1]})`);
    if (own === 'domain' && !['domain', 'lib'].includes(target)) problems.push(`${rel}: domain/ must stay pure but imports ${m[1]}`);
  }
}
if (problems.length > 0) {
  console.error(`component boundaries broken:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('component boundaries: ok');
