import { defineConfig } from 'prisma/config';

/** Prisma CLI settings; drey itself applies prisma/migrations at start-up (src/store/migrate.ts). */
export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/drey' },
});
