import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

/**
 * A JVM started by drey that cannot outlive it. Each JVM gets a watchdog: a tiny shell whose stdin is
 * a pipe from drey. However drey ends (stop, crash, SIGKILL), the kernel closes that pipe, the
 * watchdog's `cat` sees end of file, and the watchdog terminates the JVM (TERM, then KILL after 10 s).
 * A clean stop uses the very same path: drey closes the pipe and waits for the JVM to exit.
 */

/** How to find Java and Maven, and what they said their versions were. */
export interface JavaTools {
  java: string;
  mvn: string;
  javaVersion: string;
}

function version(command: string, args: string[], env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, env });
  if (r.error || r.status !== 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

/**
 * Finds `java` (JAVA_HOME first, then PATH) and `mvn`. Returns what is missing when either is.
 */
export function findJavaTools(env: NodeJS.ProcessEnv = process.env): JavaTools | { missing: string } {
  const java = env.JAVA_HOME && existsSync(path.join(env.JAVA_HOME, 'bin', 'java')) ? path.join(env.JAVA_HOME, 'bin', 'java') : 'java';
  const javaVersion = version(java, ['-version'], env);
  if (!javaVersion) return { missing: 'Java (no `java` on PATH or in JAVA_HOME)' };
  const major = Number(/version "(\d+)/.exec(javaVersion)?.[1]);
  if (Number.isFinite(major) && major < 11) return { missing: `Java 11 or newer (found ${javaVersion})` };
  if (!version('mvn', ['-v'], env)) return { missing: 'Maven (no `mvn` on PATH)' };
  return { java, mvn: 'mvn', javaVersion };
}

/**
 * The module options Flink's own scripts pass to every JVM (`env.java.default-opts.all` in a
 * distribution's config.yaml): Flink reflects into these JDK packages.
 */
export const FLINK_JVM_OPENS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED',
  '--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  ...['java.lang', 'java.net', 'java.io', 'java.nio', 'sun.nio.ch', 'java.lang.reflect', 'java.text', 'java.time', 'java.util', 'java.util.concurrent', 'java.util.concurrent.atomic', 'java.util.concurrent.locks'].map(
    (p) => `--add-opens=java.base/${p}=ALL-UNNAMED`,
  ),
];

/** What a wait for JVMs says when one of them exits, and when the time is up. */
export interface WaitMessages {
  exited(jvm: Jvm, how: string): Error;
  late(): Error;
}

/**
 * Polls `probe` every 250 ms until it gives a value (a probe that throws has not answered yet);
 * fails with `messages.exited` as soon as one of `jvms` exits, and with `messages.late` once
 * `deadline` has passed.
 */
export async function waitForJvms<T>(jvms: Jvm[], deadline: number, probe: () => Promise<T | undefined>, messages: WaitMessages): Promise<T> {
  for (;;) {
    const dead = jvms.find((j) => !j.running);
    if (dead) throw messages.exited(dead, await dead.exited);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw messages.late();
    await sleep(250);
  }
}

/** What to run. */
export interface JvmSpec {
  /** Short name; also the name of its `.out` and `.log` files in `logDir`. */
  name: string;
  java: string;
  classpath: string;
  mainClass: string;
  jvmArgs: string[];
  args: string[];
  logDir: string;
  env?: NodeJS.ProcessEnv;
}

const WATCHDOG = `trap '' INT HUP TERM
cat >/dev/null
kill -TERM "$1" 2>/dev/null || exit 0
i=0
while kill -0 "$1" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
kill -KILL "$1" 2>/dev/null
exit 0`;

/** A running JVM with its watchdog. */
export class Jvm {
  readonly name: string;
  readonly outFile: string;
  readonly logFile: string;
  /** Resolves with the exit code (or signal) once the JVM has exited. */
  readonly exited: Promise<string>;
  private readonly child: ChildProcess;
  private readonly watchdog: ChildProcess;
  private done = false;

  private constructor(spec: JvmSpec) {
    this.name = spec.name;
    this.outFile = path.join(spec.logDir, `${spec.name}.out`);
    this.logFile = path.join(spec.logDir, `${spec.name}.log`);
    const out = openSync(this.outFile, 'a');
    try {
      this.child = spawn(
        spec.java,
        [
          ...spec.jvmArgs,
          `-Dlog.file=${this.logFile}`,
          '-cp',
          spec.classpath,
          spec.mainClass,
          ...spec.args,
        ],
        { stdio: ['ignore', out, out], env: { ...process.env, ...spec.env }, detached: true },
      );
    } finally {
      closeSync(out);
    }
    this.watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'drey-watchdog', String(this.child.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.watchdog.on('error', () => {});
    this.child.unref();
    this.watchdog.unref();
    (this.watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => resolve(`failed to start: ${err.message}`));
      this.child.on('exit', (code, signal) => {
        this.done = true;
        // The JVM is gone: the watchdog must not signal a pid the system may hand out again.
        if (this.watchdog.exitCode === null) this.watchdog.kill('SIGKILL');
        resolve(signal ? `signal ${signal}` : `exit code ${code}`);
      });
    });
  }

  /** Starts a JVM under its watchdog. */
  static start(spec: JvmSpec): Jvm {
    return new Jvm(spec);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** The last lines the JVM wrote (its `.out`, then its log), for an error message. */
  tail(lines = 15): string {
    const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n') : '');
    return [read(this.outFile), read(this.logFile)].filter(Boolean).join('\n');
  }

  /** Stops the JVM through its watchdog and waits until it has exited. */
  async stop(): Promise<void> {
    if (this.done) return;
    this.child.ref(); // keeps drey alive until the JVM has really gone
    this.watchdog.stdin?.end();
    await this.exited;
  }
}
