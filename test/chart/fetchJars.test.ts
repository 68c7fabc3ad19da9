/**
 * Runs the SQL Gateway's fetch-jars initContainer command, exactly as rendered, with /bin/sh against a
 * temporary layout: the paths come from the container's env, and a stand-in `curl` first on PATH
 * serves the jars from a fixtures directory, so no network is needed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from '@jest/globals';
import { ofKind, render } from './helm.js';

/** Serves https://repo.example/<path>/<name> from $FIXTURES/<name>, as `curl -fsSL --retry 3 -o OUT URL` would. */
const CURL = `#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    --retry) shift 2 ;;
    -*) shift ;;
    *) url="$1"; shift ;;
  esac
done
name=$(basename "$url")
[ -f "$FIXTURES/$name" ] || { echo "curl: (22) 404 $url" >&2; exit 22; }
cp "$FIXTURES/$name" "$out"
`;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const CONNECTOR = 'connector classes';
const FORMAT = 'format classes';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'drey-fetch-jars-'));
  for (const d of ['image-lib', 'gateway-lib', 'fixtures', 'bin']) await mkdir(path.join(dir, d));
  await writeFile(path.join(dir, 'image-lib/flink-dist-2.3.0.jar'), 'dist');
  await writeFile(path.join(dir, 'image-lib/log4j-core-2.24.3.jar'), 'log4j');
  await writeFile(path.join(dir, 'fixtures/flink-sql-connector-kafka-9.9.9.jar'), CONNECTOR);
  await writeFile(path.join(dir, 'fixtures/flink-sql-avro-confluent-registry-9.9.9.jar'), FORMAT);
  await writeFile(path.join(dir, 'bin/curl'), CURL);
  await chmod(path.join(dir, 'bin/curl'), 0o755);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The rendered fetch-jars container for two jars with the given checksums. */
async function fetchJarsContainer(connectorSha: string, formatSha: string): Promise<any> {
  const jars = [
    ['https://repo.example/kafka/flink-sql-connector-kafka-9.9.9.jar', connectorSha],
    ['https://repo.example/avro/flink-sql-avro-confluent-registry-9.9.9.jar', formatSha],
  ];
  const set = jars.flatMap(([url, sha], i) => ['--set', `sqlGateway.jars[${i}].url=${url},sqlGateway.jars[${i}].sha256=${sha}`]);
  const r = await render('default-values.yaml', '1.30.0', set);
  const gw = ofKind(r.objects, 'Deployment').find((d) => d.metadata.name === 'drey-sql-gateway')!;
  return gw.spec.template.spec.initContainers.find((c: any) => c.name === 'fetch-jars');
}

/** Runs the container's command with its env, the two lib paths pointed into the temporary layout. */
function run(container: any): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string> = Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  expect(Object.keys(env).sort()).toEqual(['FLINK_IMAGE_LIB', 'GATEWAY_LIB']);
  const [cmd, ...args] = container.command as string[];
  const runEnv = {
    FLINK_IMAGE_LIB: path.join(dir, 'image-lib'),
    GATEWAY_LIB: path.join(dir, 'gateway-lib'),
    FIXTURES: path.join(dir, 'fixtures'),
    PATH: `${path.join(dir, 'bin')}:/usr/bin:/bin`,
  };
  return new Promise((resolve) => {
    execFile(cmd!, args, { env: runEnv }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }));
  });
}

test("fills the gateway's lib dir with the image's jars and the fetched ones, each checksum checked", async () => {
  const r = await run(await fetchJarsContainer(sha256(CONNECTOR), sha256(FORMAT)));
  expect([r.code, r.stderr]).toEqual([0, '']);
  expect(r.stdout.split('\n').filter((l) => l.endsWith(': OK'))).toHaveLength(2);
  expect((await readdir(path.join(dir, 'gateway-lib'))).sort()).toEqual([
    'flink-dist-2.3.0.jar',
    'flink-sql-avro-confluent-registry-9.9.9.jar',
    'flink-sql-connector-kafka-9.9.9.jar',
    'log4j-core-2.24.3.jar',
  ]);
  expect(await readFile(path.join(dir, 'gateway-lib/flink-sql-connector-kafka-9.9.9.jar'), 'utf8')).toBe(CONNECTOR);
});

test('fails, so the gateway never starts, when a jar does not match its sha256', async () => {
  const r = await run(await fetchJarsContainer(sha256(CONNECTOR), sha256('something else')));
  expect(r.code).not.toBe(0);
  expect(r.stdout).toContain('flink-sql-avro-confluent-registry-9.9.9.jar: FAILED');
  expect(r.stderr).toContain('did NOT match');
});

test('fails when a jar cannot be downloaded', async () => {
  await rm(path.join(dir, 'fixtures/flink-sql-connector-kafka-9.9.9.jar'));
  const r = await run(await fetchJarsContainer(sha256(CONNECTOR), sha256(FORMAT)));
  expect(r.code).toBe(22);
  expect(await readdir(path.join(dir, 'gateway-lib'))).not.toContain('flink-sql-avro-confluent-registry-9.9.9.jar');
});
