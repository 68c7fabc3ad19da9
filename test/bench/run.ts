/**
 * `npm run bench [-- api|statements]`: drey's latency as ratios to a bare baseline measured in the
 * same run. `api` (test/bench/api.ts) is the API against plain pg; `statements`
 * (test/bench/statements.ts) is SQL through drey against the same SQL sent straight to the SQL
 * Gateway, and needs Java and Maven for real Flink. Without an argument both run; the statements
 * one then skips loudly where Java or Maven is missing.
 */
import { apiBench } from './api.js';
import { statementsBench } from './statements.js';

const BENCHES = { api: apiBench, statements: statementsBench };
type Bench = keyof typeof BENCHES;

const asked = process.argv[2];
if (asked !== undefined && !(asked in BENCHES)) {
  process.stderr.write(`usage: npm run bench [-- ${Object.keys(BENCHES).join('|')}] (none runs all)\n`);
  process.exit(2);
}
const chosen = asked ? [asked as Bench] : (Object.keys(BENCHES) as Bench[]);
const ran: string[] = [];
for (const name of chosen) {
  process.stdout.write(`== bench: ${name}\n`);
  if ((await BENCHES[name]()) !== false) ran.push(name);
}
const skipped = chosen.filter((name) => !ran.includes(name));
process.stdout.write(`== bench ran: ${ran.join(', ') || 'nothing'}${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}\n`);
