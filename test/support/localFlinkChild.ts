/**
 * A process that starts local Flink and then waits forever, for the test that kills it with SIGKILL
 * and checks Flink's processes go too. Prints one JSON line with the Flink pids once Flink is up.
 */
import { LocalFlink } from '../../src/flink/local/cluster.js';
import { findJavaTools } from '../../src/flink/local/jvm.js';
import { createLogger } from '../../src/log.js';

const [cacheDir, workDir] = process.argv.slice(2);
const tools = findJavaTools();
if ('missing' in tools) throw new Error(tools.missing);
const flink = await LocalFlink.start({ workDir: workDir!, cacheDir: cacheDir!, tools, log: createLogger('warn') });
process.stdout.write(`${JSON.stringify({ pids: flink.pids, rest: flink.restUrl })}\n`);
setInterval(() => {}, 60_000);
