/**
 * The processes of the scale benchmark: one embedded PostgreSQL, drey children running a built
 * checkout's `dist/main.js`, and the cleanup that stops them all on exit, on Ctrl-C and on errors.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EmbeddedPostgres, freePort } from '../../../src/store/embeddedPostgres.js';
import { migrate } from '../../../src/store/migrate.js';

const PROBE = fileURLToPath(new URL('./probe.mjs', import.meta.url));
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Everything to stop and remove when the benchmark ends, however it ends. */
export class Cleanup {
  private readonly steps: (() => Promise<void>)[] = [];
  private running: Promise<void> | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nscale: ${signal}: stopping drey and PostgreSQL…\n`);
    void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };

  constructor() {
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  /** Registers a step; steps run last-registered first. Returns a function that unregisters it. */
  add(step: () => Promise<void>): () => void {
    this.steps.push(step);
    return () => {
      const at = this.steps.indexOf(step);
      if (at >= 0) this.steps.splice(at, 1);
    };
  }

  /** Runs every step once (errors are printed, not thrown) and stops listening for signals. */
  run(): Promise<void> {
    return (this.running ??= (async () => {
      while (this.steps.length) {
        const step = this.steps.pop()!;
        await step().catch((err: unknown) => process.stderr.write(`scale: cleanup: ${(err as Error).message}\n`));
      }
      process.off('SIGINT', this.onSignal);
      process.off('SIGTERM', this.onSignal);
    })());
  }
}

/** A temporary directory removed at cleanup. */
export async function tempDir(cleanup: Cleanup, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  await chmod(dir, 0o755);
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The one PostgreSQL every drey of the run shares; a fresh database per phase. */
export class Database {
  private constructor(
    private readonly adminUrl: string,
    private readonly migrations: string,
  ) {}

  /** Starts an embedded PostgreSQL in `dir`, stopped at cleanup. */
  static async start(cleanup: Cleanup, dir: string, dreyDir: string): Promise<Database> {
    const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(`postgres: ${m}\n`) };
    const postgres = new EmbeddedPostgres({ dataDir: dir, log: quiet });
    cleanup.add(() => postgres.stop());
    const url = await postgres.start();
    return new Database(url, path.join(dreyDir, 'prisma', 'migrations'));
  }

  /** A new, empty database's connection string (dropped first if a previous run left it). */
  async fresh(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
    const url = new URL(this.adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Drops a database no phase needs any more. */
  async drop(name: string): Promise<void> {
    const admin = new pg.Client({ connectionString: this.adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => admin.end());
  }

  /** Applies the benchmarked checkout's migrations, as drey would at start. */
  async migrate(url: string): Promise<void> {
    await migrate(url, this.migrations);
  }
}

/** Memory as the drey process itself reports it (heap after a full GC). */
export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** A drey child process. */
export interface Drey {
  name: string;
  pid: number;
  url: string;
  dataDir: string;
  /** True once `/healthz` said this drey leads the controllers. */
  leader: boolean;
  /** VmRSS in MB, from /proc/<pid>/status. */
  rssMb(): Promise<number>;
  /** utime + stime in seconds, from /proc/<pid>/stat. */
  cpuSeconds(): Promise<number>;
  /** Heap after a full GC, as drey's process.memoryUsage() says (through the preloaded probe). */
  memory(): Promise<Memory>;
  stop(): Promise<void>;
}

/** How to start one drey. */
export interface DreyOptions {
  name: string;
  dreyDir: string;
  dataDir: string;
  databaseUrl: string;
  /** Extra environment: CMF_KUBE, KUBECONFIG, CMF_RESYNC_MS, ... */
  env: Record<string, string>;
  /** A directory holding the FlinkDeployment CRD cache, shared by every drey of the run. */
  crdCache: string;
}

const CRD_FILE = /^flinkdeployments\..*\.yml$/;

/** Copies cached CRD files from one directory to another, so only the first drey fetches it. */
async function copyCrds(from: string, to: string): Promise<void> {
  if (!existsSync(from)) return;
  await mkdir(to, { recursive: true });
  for (const file of (await readdir(from)).filter((f) => CRD_FILE.test(f))) {
    if (!existsSync(path.join(to, file))) await copyFile(path.join(from, file), path.join(to, file));
  }
}

async function readProc(pid: number, file: string): Promise<string> {
  return readFile(`/proc/${pid}/${file}`, 'utf8');
}

/** CPU seconds (user + system) of a /proc/<pid>/stat line. */
function statCpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state is field 3, utime 14 and stime 15 (1-based) of the whole line
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds used so far by every PostgreSQL process on the machine (the benchmark's is the only one). */
export async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readProc(Number(pid), 'stat');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) === 'postgres') total += statCpuSeconds(stat);
    } catch {
      // the process ended while it was read
    }
  }
  return total;
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<{ leader: boolean }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`drey exited (${child.exitCode ?? child.signalCode}) before answering /healthz:\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) {
        const body = (await res.json()) as { controllers?: { leader?: boolean } };
        return { leader: body.controllers?.leader === true };
      }
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`drey did not answer ${url}/healthz within ${timeoutMs / 1000} s:\n${output()}`);
}

/** The node options `npm start` of `dreyDir` runs drey with (its package.json's `config.node_options`). */
function startOptions(dreyDir: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(dreyDir, 'package.json'), 'utf8')) as { config?: { node_options?: string } };
  return (pkg.config?.node_options ?? '').split(' ');
}

/** Starts drey (`node dist/main.js` of `dreyDir`, with the node options of its `npm start`) and waits for `/healthz`; it is stopped at cleanup. */
export async function startDrey(cleanup: Cleanup, options: DreyOptions): Promise<Drey> {
  const { name, dreyDir, dataDir, databaseUrl, env, crdCache } = options;
  const main = path.join(dreyDir, 'dist', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build drey first (npx tsc -p . in ${dreyDir})`);
  await copyCrds(crdCache, path.join(dataDir, 'cache'));
  const port = await freePort();
  const nodeArgs = [...startOptions(dreyDir), ...(process.env.SCALE_NODE_ARGS ?? '').split(' ')].filter(Boolean);
  const child = spawn(process.execPath, ['--expose-gc', ...nodeArgs, '--import', PROBE, main], {
    cwd: dreyDir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? os.homedir(),
      CMF_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      CMF_LOCAL_FLINK: 'off',
      CMF_LOCAL_KAFKA: 'off',
      CMF_SIM_STEP_MS: '100',
      PORT: String(port),
      CMF_OPS_PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
    if (killed) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  const unregister = cleanup.add(stop);
  const url = `http://127.0.0.1:${port}`;
  let health;
  try {
    health = await waitForHealth(url, child, () => lines.join('\n'), 120_000);
  } catch (err) {
    await stop();
    unregister();
    throw err;
  }
  await copyCrds(path.join(dataDir, 'cache'), crdCache);
  const pid = child.pid!;
  return {
    name,
    pid,
    url,
    dataDir,
    leader: health.leader,
    async rssMb() {
      const status = await readProc(pid, 'status');
      return Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN) / 1024;
    },
    async cpuSeconds() {
      return statCpuSeconds(await readProc(pid, 'stat'));
    },
    memory() {
      return new Promise<Memory>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${name} did not answer the memory probe`)), 30_000);
        const onMessage = (message: unknown) => {
          const m = message as { probe?: string } & Memory;
          if (m?.probe !== 'memory') return;
          clearTimeout(timer);
          child.off('message', onMessage);
          resolve({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external });
        };
        child.on('message', onMessage);
        child.send({ probe: 'memory' });
      });
    },
    async stop() {
      await stop();
      unregister();
    },
  };
}

/** Asks `/healthz` whether this drey leads now. */
export async function isLeader(url: string): Promise<boolean> {
  const res = await fetch(`${url}/healthz`);
  const body = (await res.json()) as { controllers?: { leader?: boolean } };
  return body.controllers?.leader === true;
}

/** Builds the checkout (`npx tsc -p .`), throwing with the compiler's output when it fails. */
export function buildDrey(dreyDir: string): void {
  const result = spawnSync('npx', ['tsc', '-p', '.'], { cwd: dreyDir, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npx tsc -p . failed in ${dreyDir}:\n${(result.stdout + result.stderr).slice(0, 4000)}`);
}
