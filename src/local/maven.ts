import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isAlive } from './processes.js';

/**
 * What the local distributions (Flink, Kafka, the schema registry) share: running Maven, a pom that
 * copies a list of artifacts into `lib/`, and a cache folder per distribution, keyed by a hash of
 * what it holds and filled once under a lock.
 */

/** The dependency plugin every generated pom and every direct goal uses, pinned so runs agree. */
export const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** One `<dependency>` line of a pom, from `groupId:artifactId:version`. */
export function dependency(coordinates: string, indent: string): string {
  const [groupId, artifactId, version] = coordinates.split(':');
  return `${indent}<dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${version}</version></dependency>`;
}

/**
 * A pom whose `generate-resources` phase copies the given artifacts and their runtime dependencies
 * into `<basedir>/lib` (`mvn -B generate-resources`).
 */
export function libraryPom(options: { artifactId: string; version: string; title: string; coordinates: string[] }): string {
  const [groupId, artifactId, version] = DEPENDENCY_PLUGIN.split(':');
  return `<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by drey: the jars of ${options.title}. Run: mvn -B generate-resources -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.drey</groupId>
  <artifactId>${options.artifactId}</artifactId>
  <version>${options.version}</version>
  <packaging>pom</packaging>
  <dependencies>
${options.coordinates.map((c) => dependency(c, '    ')).join('\n')}
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>${groupId}</groupId>
        <artifactId>${artifactId}</artifactId>
        <version>${version}</version>
        <executions>
          <execution>
            <id>lib</id>
            <phase>generate-resources</phase>
            <goals><goal>copy-dependencies</goal></goals>
            <configuration>
              <outputDirectory>\${project.basedir}/lib</outputDirectory>
              <includeScope>runtime</includeScope>
            </configuration>
          </execution>
        </executions>
      </plugin>
    </plugins>
  </build>
</project>
`;
}

/** Runs a command to its end and returns its exit code and the last 20,000 characters it printed. */
export function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The last lines of a command's output, for an error message. */
export function lastLines(output: string, lines = 8): string {
  return output.trim().split('\n').slice(-lines).join('\n');
}

/** Holds `<dir>.lock` while `work` runs, so that concurrent drey processes fetch the jars once. */
export async function withLock<T>(lock: string, work: () => Promise<T>, isDone: () => boolean): Promise<T | undefined> {
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      let holder = NaN;
      try {
        holder = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // the holder has not written its pid yet
      }
      if (Number.isFinite(holder) && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
      else await sleep(500);
      if (isDone()) return undefined;
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * A cache folder `<cacheDir>/<name>-<hash of key>`, filled by `fill` the first time and reused after.
 * Keying by what the folder holds (a pom, a coordinate) makes a change of version fetch again instead
 * of reusing stale files; a `.complete` marker makes a fill that died halfway start over.
 */
export async function cachedFolder(options: {
  cacheDir: string;
  name: string;
  key: string;
  fill: (home: string) => Promise<void>;
}): Promise<{ home: string; fetched: boolean }> {
  const hash = createHash('sha256').update(options.key).digest('hex').slice(0, 12);
  const home = path.join(options.cacheDir, `${options.name}-${hash}`);
  const marker = path.join(home, '.complete');
  if (existsSync(marker)) return { home, fetched: false };
  mkdirSync(options.cacheDir, { recursive: true });
  const fetched = await withLock(
    `${home}.lock`,
    async () => {
      if (existsSync(marker)) return false;
      rmSync(home, { recursive: true, force: true });
      mkdirSync(home, { recursive: true });
      await options.fill(home);
      writeFileSync(marker, `${new Date().toISOString()}\n`);
      return true;
    },
    () => existsSync(marker),
  );
  return { home, fetched: fetched ?? false };
}
