// Stops the run's PostgreSQL and removes its files.
import { rm } from 'node:fs/promises';

export default async function globalTeardown() {
  const state = globalThis.dreyTestPostgres;
  if (!state) return;
  await state.postgres.stop();
  await rm(state.dataDir, { recursive: true, force: true });
}
