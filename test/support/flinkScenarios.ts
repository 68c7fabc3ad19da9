import { FlinkError } from '../../src/flink/rest.js';

/**
 * What the Flink clients' integration tests (which record real Flink) and unit tests (which replay
 * those recordings) must agree on: the inputs the recordings were made with, the values they decode
 * to, and the small helpers both kinds of test use.
 */

/** Entry classes, arguments and ids of the JobManager scenarios. */
export const STATE_MACHINE = 'org.apache.flink.streaming.examples.statemachine.StateMachineExample';
export const WORD_COUNT = 'org.apache.flink.streaming.examples.wordcount.WordCount';
export const NO_SUCH_CLASS = 'org.example.drey.NoSuchJob';
export const MISSING_INPUT = '/nonexistent/drey-wordcount-input.txt';
export const UNKNOWN_JOB = '0123456789abcdef0123456789abcdef';
export const UNKNOWN_TRIGGER = 'fedcba9876543210fedcba9876543210';
/** StateMachineExample uses async state, which the default hashmap backend cannot snapshot; ForSt can, natively only. */
export const FORST = { 'state.backend.type': 'forst' };

/** A Flink job id. */
export const JOB_ID = /^[0-9a-f]{32}$/;
/** The properties the SQL session scenario opens its session with. */
export const SESSION_PROPERTIES = { 'table.local-time-zone': 'UTC', 'parallelism.default': '1', 'drey.test.marker': 'session-scenario' };

/** What the literal-types SELECT of the SQL scenarios decodes to, column by column. */
export const LITERAL_VALUES = {
  ti: 1,
  si: -2,
  i: 3,
  bi: '4000000000',
  f: 1.5,
  d: 2.25,
  dnan: NaN,
  dinf: Infinity,
  dec1: '100.00',
  dec2: '-0.000123',
  b: true,
  c: 'ab ',
  vc: 'héllo',
  s: 's',
  bin: Buffer.from([1, 2, 0xff]),
  vbin: Buffer.from([1, 2]),
  dt: '2024-01-02',
  tm: '12:34:56.789',
  ts: '2024-01-02T03:04:05.123456',
  ltz: '2024-01-02T03:04:05.123Z',
  iday: 2 * 24 * 3600 * 1000,
  imon: 3,
  arr: [1, null],
  mp: new Map([
    ['a', 1],
    ['b', 2],
  ]),
  rw: { id: 1, name: 'x', sub: { flag: true } },
  arows: [{ EXPR$0: 1, EXPR$1: 'a' }],
  n: null,
  nrow: null,
};

/** The FlinkError a call fails with; anything else (or success) fails the test. */
export async function flinkFailure(call: Promise<unknown>): Promise<FlinkError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof FlinkError) return err;
    throw err;
  }
  throw new Error('expected a FlinkError');
}

/** Polls real Flink until `done` holds, failing with the last value seen after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last seen ${JSON.stringify(value).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
