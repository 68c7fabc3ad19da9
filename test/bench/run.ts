/**
 * `npm run bench [-- api|statements|scale]`: drey's latency as ratios to a bare baseline measured
 * in the same run. `api` (test/bench/api.ts) is the API against plain pg; `statements`
 * (test/bench/statements.ts) is SQL through drey against the same SQL sent straight to the SQL
 * Gateway, and needs Java and Maven for real Flink; `scale` (test/bench/scale.ts) is drey with up
 * to 100,000 applications, and takes about 20 minutes. Without an argument `api` and `statements`
 * run (the statements one then skips loudly where Java or Maven is missing); `scale` runs only
 * when named.
 */
import { apiBench } from './api.js';
import { scaleBench } from './scale.js';
import { statementsBench } from './statements.js';

const BENCHES = { api: apiBench, statements: statementsBench, scale: scaleBench };
type Bench = keyof typeof BENCHES;
/** The benches a run without an argument runs: the quick ones. */
const DEFAULT: Bench[] = ['api', 'statements'];

const asked = process.argv[2];
if (asked !== undefined && !(asked in BENCHES)) {
  process.stderr.write(`usage: npm run bench [-- ${Object.keys(BENCHES).join('|')}] (none runs ${DEFAULT.join(' and ')})\n`);
  process.exit(2);
}
const chosen = asked ? [asked as Bench] : DEFAULT;
const ran: string[] = [];
for (const name of chosen) {
  process.stdout.write(`== bench: ${name}\n`);
  if ((await BENCHES[name]()) !== false) ran.push(name);
}
const skipped = chosen.filter((name) => !ran.includes(name));
process.stdout.write(`== bench ran: ${ran.join(', ') || 'nothing'}${skipped.length ? `; skipped: ${skipped.join(', ')}` : ''}\n`);
