// Child process of threads.test.ts: computes the same jobs as the parent with the thread count
// given by DIFFAI_THREADS and prints the result bits as hex, for an exact comparison.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const native = require('node-gyp-build')(root);
const { makeJobs } = await import(path.join(root, 'test', 'native', 'threads-data.mjs'));

const { statsJobs, pairJobs, gramJobs } = makeJobs();
const stats = new Float64Array(statsJobs.length * 13);
const pair = new Float64Array(pairJobs.length * 35);
const gram = new Float64Array(gramJobs.reduce((s, j) => s + j.cols, 0));
native.statsSync(statsJobs, stats);
await native.pair(pairJobs, pair);
await native.gram(gramJobs, gram);
const hex = (a) => Array.from(new BigUint64Array(a.buffer), (v) => v.toString(16));
process.stdout.write(JSON.stringify({ threads: native.threadCount(), stats: hex(stats), pair: hex(pair), gram: hex(gram) }));
