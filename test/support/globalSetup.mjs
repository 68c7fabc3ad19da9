// Starts one real PostgreSQL for the whole run; each test file makes its own database in it.
// Plain JavaScript: Jest loads global setup outside its module system, so drey's TypeScript is
// loaded through tsx.
import { chmod, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';

export default async function globalSetup() {
  const { EmbeddedPostgres } = await tsImport('../../src/store/embeddedPostgres.ts', import.meta.url);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'drey-test-'));
  await chmod(dataDir, 0o755); // the postgres account must reach it when the tests run as root
  const quiet = { info: () => undefined, warn: (m) => process.stderr.write(`${m}\n`), error: (m) => process.stderr.write(`${m}\n`) };
  const postgres = new EmbeddedPostgres({ dataDir, log: quiet });
  process.env.DREY_TEST_ADMIN_URL = await postgres.start();
  // every (operation, status) a response was checked for, for the coverage report at teardown
  process.env.DREY_CONTRACT_HITS = path.join(dataDir, 'contract-hits.txt');
  globalThis.dreyTestPostgres = { postgres, dataDir };
}
