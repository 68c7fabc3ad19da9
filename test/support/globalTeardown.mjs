// Reports which of the contract's (operation, status) pairs no test saw, then stops the run's
// PostgreSQL and removes its files.
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tsImport } from 'tsx/esm/api';

/** Statuses no test can provoke without breaking drey itself, or that drey never sends. */
const UNREACHABLE = /( 500$)|(^(POST|DELETE) .* 304$)/;

async function reportCoverage(hitsFile) {
  const { loadContract } = await tsImport('./contract.ts', import.meta.url);
  const contract = loadContract();
  if (!contract) return;
  const hits = new Set(existsSync(hitsFile) ? readFileSync(hitsFile, 'utf8').split('\n') : []);
  const listed = contract.listed();
  const missed = listed.filter((pair) => !hits.has(pair) && !UNREACHABLE.test(pair));
  const reachable = listed.filter((pair) => !UNREACHABLE.test(pair)).length;
  process.stdout.write(`\nContract coverage: ${reachable - missed.length}/${reachable} listed (operation, status) pairs seen` +
    ` (500s and 304s to POST/DELETE excluded)\n${missed.map((m) => `  not seen: ${m}\n`).join('')}`);
}

export default async function globalTeardown() {
  const state = globalThis.dreyTestPostgres;
  if (!state) return;
  await reportCoverage(process.env.DREY_CONTRACT_HITS);
  await state.postgres.stop();
  await rm(state.dataDir, { recursive: true, force: true });
}
