import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WorkQueue } from '../src/controllers/queue.js';
import { createLogger, type LogLevel } from '../src/log.js';
import { eventually, startDrey, type TestDrey } from './support/drey.js';
import { application, environment } from './support/fixtures.js';
import { logEntries, type LogEntry } from './support/logLines.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A logger at `level` and the lines it wrote, parsed. */
function captured(level: LogLevel) {
  const lines: string[] = [];
  return { log: createLogger(level, (line) => lines.push(line)), lines, entries: () => logEntries(lines) };
}

describe('a log line', () => {
  it('is one JSON object on one line: level, ISO time, message, then the fields', () => {
    const { log, lines } = captured('info');
    log.info('drey is listening', { url: 'http://127.0.0.1:8080', port: 8080 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\{.*\}\n$/);
    const entry = JSON.parse(lines[0]!) as LogEntry;
    expect(entry).toEqual({ level: 'info', time: expect.any(String), msg: 'drey is listening', url: 'http://127.0.0.1:8080', port: 8080 });
    expect(new Date(entry.time).toISOString()).toBe(entry.time);
  });

  it('keeps a message as it is, placeholders and quotes included', () => {
    const { log, entries } = captured('info');
    log.info('100% done: "%s" %d', { n: 1 });
    log.warn('no fields at all');
    expect(entries().map((e) => e.msg)).toEqual(['100% done: "%s" %d', 'no fields at all']);
  });

  it.each<[LogLevel, LogLevel[]]>([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ])('at %s, holds the entries of that level and above', (level, kept) => {
    const { log, entries } = captured(level);
    for (const at of ['debug', 'info', 'warn', 'error'] as const) log[at](`at ${at}`);
    expect(entries().map((e) => e.level)).toEqual(kept);
  });

  it('of a child carries the child’s fields, and of its parent does not', () => {
    const { log, entries } = captured('debug');
    const request = log.child({ requestId: 'r-1' });
    request.child({ step: 'auth' }).debug('credential rejected', { reason: 'expired' });
    request.info('request');
    log.info('unrelated');
    expect(entries().map(({ time: _time, ...rest }) => rest)).toEqual([
      { level: 'debug', requestId: 'r-1', step: 'auth', reason: 'expired', msg: 'credential rejected' },
      { level: 'info', requestId: 'r-1', msg: 'request' },
      { level: 'info', msg: 'unrelated' },
    ]);
  });

  it('describes an Error field by type, message and stack, and nothing else it carries', () => {
    const { log, entries } = captured('info');
    const err = Object.assign(new TypeError('cannot read the spec'), { code: 'E_SPEC', body: { password: 'hunter2' } });
    log.error('request failed', { error: err });
    const [entry] = entries();
    expect(entry!.error).toEqual({ type: 'TypeError', code: 'E_SPEC', message: 'cannot read the spec', stack: expect.stringContaining('TypeError: cannot read the spec') });
    expect(JSON.stringify(entry)).not.toContain('hunter2');
  });

  it('describes a Prisma error by class and code only: its message quotes the call’s arguments', () => {
    const { log, entries } = captured('info');
    const err = Object.assign(new Error('Unique constraint failed on data: "TOP-SECRET"'), { name: 'PrismaClientKnownRequestError', code: 'P2002' });
    log.error('request failed', { err });
    expect(entries()[0]!.err).toEqual({ type: 'PrismaClientKnownRequestError', code: 'P2002' });
  });
});

describe('a reconcile', () => {
  it('logs, and has its failure logged, under its controller, key and one reconcileID', async () => {
    const { log, entries } = captured('info');
    const queue = new WorkQueue({
      name: 'widget',
      log,
      baseDelayMs: 60_000,
      reconcile: async (_key, reconcileLog) => {
        reconcileLog.info('looked at the widget');
        throw new Error('the widget is stuck');
      },
    });
    queue.start();
    queue.add('env-a/widget-1');
    const lines = await eventually('the failure line', () => entries().length >= 2 && entries());
    await queue.stop();
    const [first, failure] = lines;
    expect(first).toMatchObject({ msg: 'looked at the widget', controller: 'widget', key: 'env-a/widget-1', reconcileID: expect.stringMatching(UUID) });
    expect(failure).toMatchObject({ level: 'warn', error: 'the widget is stuck', controller: 'widget', key: 'env-a/widget-1', reconcileID: first!.reconcileID });
  });
});

describe('a running drey', () => {
  let drey: TestDrey;
  beforeAll(async () => {
    drey = await startDrey();
  });
  afterAll(async () => drey?.stop());

  const linesWith = (field: string, value: unknown) => logEntries(drey.logs).filter((e) => e[field] === value);

  it('logs a request under the id it sends back in X-Request-Id, its own or the caller’s', async () => {
    const made = await drey.get('/cmf/api/v1/environments');
    const kept = await drey.get('/cmf/api/v1/environments/nowhere', { headers: { 'x-request-id': 'log-test-1' } });
    expect([made.status, kept.status, kept.headers.get('x-request-id')]).toEqual([200, 404, 'log-test-1']);
    const id = made.headers.get('x-request-id')!;
    expect(id).toMatch(UUID);
    const of = (requestId: string) => eventually(`the lines of request ${requestId}`, () => linesWith('requestId', requestId).length > 0 && linesWith('requestId', requestId));
    expect(await of(id)).toEqual([expect.objectContaining({ msg: 'request', method: 'GET', path: '/cmf/api/v1/environments', status: 200 })]);
    expect(await of('log-test-1')).toEqual([expect.objectContaining({ msg: 'request', method: 'GET', path: '/cmf/api/v1/environments/nowhere', status: 404 })]);
  });

  it('logs each reconcile of an application under the controller, the key and an id of its own', async () => {
    expect((await drey.post('/cmf/api/v1/environments', environment('log-env', 'flink-log'))).status).toBe(201);
    expect((await drey.post('/cmf/api/v1/environments/log-env/applications', application('app-one'))).status).toBe(201);
    const applied = await eventually('the applied line', () => logEntries(drey.logs).find((e) => e.msg === 'applied FlinkDeployment' && e.name === 'app-one'));
    expect(applied).toMatchObject({ controller: 'application', key: 'log-env/app-one', reconcileID: expect.stringMatching(UUID), namespace: 'flink-log' });
    for (const line of linesWith('reconcileID', applied.reconcileID)) expect(line).toMatchObject({ controller: 'application', key: 'log-env/app-one' });

    expect((await drey.delete('/cmf/api/v1/environments/log-env/applications/app-one')).status).toBe(200);
    const deleted = await eventually('the deleted line', () => logEntries(drey.logs).find((e) => e.msg === 'application deleted' && e.key === 'log-env/app-one'));
    expect(deleted).toMatchObject({ controller: 'application', reconcileID: expect.stringMatching(UUID) });
    expect(deleted.reconcileID).not.toBe(applied.reconcileID);
  });
});
