import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sharedCrdFile } from './crd.js';
import { logEntries } from './logLines.js';

/** Where a command is on PATH, or undefined when it is not installed. */
export function findCommand(name: string): string | undefined {
  try {
    return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The project's root, where drey runs from. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Running {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts drey as `npm start` would run it (from source, through tsx) and waits until it listens. */
export async function startDrey(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', CMF_OPS_PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', CMF_SIM_CRD: sharedCrdFile() ?? '', CMF_LOCAL_FLINK: 'off', CMF_LOCAL_KAFKA: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  if (process.env.DREY_PROC_LOG) child.once('exit', () => appendFileSync(process.env.DREY_PROC_LOG!, `--- pid ${child.pid}\n${output}`));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drey did not start:\n${output}`)), 60_000);
    const check = () => {
      const listening = logEntries(output).find((e) => e.msg === 'drey is listening');
      if (listening) {
        clearTimeout(timer);
        resolve(String(listening.url));
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`drey exited with ${code}:\n${output}`)));
  });
  return { child, url, output: () => output };
}

/** Sends a signal and waits for drey to exit; returns its exit code. */
export async function stopDrey(running: Running, signal: NodeJS.Signals): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  running.child.kill(signal);
  return exited;
}

