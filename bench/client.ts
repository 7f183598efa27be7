/**
 * Our KubeSphere client against raw undici requests, side by side in one run, on the emulator.
 * Prints requests/second and this process's CPU time per request for each, and their ratios.
 * Not a test: figures go to docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { Agent } from 'undici';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { spawnEmulator } from './emulator-process.js';

const CONCURRENCY = 20;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const PATH = '/kapis/iam.kubesphere.io/v1beta1/users/admin';

interface Round {
  /** requests per second */
  rate: number;
  /** CPU time this process spent per request (user + system), in microseconds */
  cpuMicros: number;
}

async function round(run: () => Promise<void>): Promise<Round> {
  let done = 0;
  const deadline = Date.now() + ROUND_MS;
  const started = Date.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        await run();
        done += 1;
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: done / elapsed, cpuMicros: (used.user + used.system) / done };
}

/**
 * With two or more cores and taskset, the load runs on CPU 0 and the emulator on CPU 1, so the two
 * never take turns on one core and the figures move less with the scheduler.
 */
function pinToOwnCores(): boolean {
  if (process.env.BENCH_PIN === '0' || availableParallelism() < 2) return false;
  try {
    execFileSync('taskset', ['--pid', '--cpu-list', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const pinned = pinToOwnCores();
const emulator = await spawnEmulator(['--controller-delay', '0'], pinned ? { cpu: 1 } : {});
try {
  const client = new KubeSphereClient({
    baseUrl: emulator.url,
    credentials: { username: 'admin', password: 'P@88w0rd' },
    connections: CONCURRENCY,
  });
  await client.getUser('admin');
  const login = await fetch(`${emulator.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=password&username=admin&password=P%4088w0rd&client_id=kubesphere&client_secret=kubesphere',
  });
  const token = ((await login.json()) as { access_token: string }).access_token;
  const raw = new Agent({ connections: CONCURRENCY });
  const origin = new URL(emulator.url).origin;
  const rawCall = async () => {
    const res = await raw.request({ origin, path: PATH, method: 'GET', headers: { authorization: `Bearer ${token}` } });
    await res.body.json();
    if (res.statusCode !== 200) throw new Error(`raw request got ${res.statusCode}`);
  };
  const clientCall = async () => {
    await client.getUser('admin');
  };

  await round(rawCall); // warm-up of both paths
  await round(clientCall);
  const raws: Round[] = [];
  const ours: Round[] = [];
  // Paired rounds in alternating order: drift on a shared machine then hits both sides alike.
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      raws.push(await round(rawCall));
      ours.push(await round(clientCall));
    } else {
      ours.push(await round(clientCall));
      raws.push(await round(rawCall));
    }
  }
  const rateRatios = ours.map((r, i) => r.rate / raws[i]!.rate);
  // CPU per request the other way round, so that above 1 still means "our client is cheaper".
  const cpuRatios = ours.map((r, i) => raws[i]!.cpuMicros / r.cpuMicros);
  const rawMedian = median(raws.map((r) => r.rate));
  const line = (label: string, values: number[], unit: string, digits: number) =>
    console.log(
      `${label}: ${values.map((v) => v.toFixed(digits)).join(', ')}${unit ? ` ${unit}` : ''} (median ${median(values).toFixed(digits)})`,
    );
  console.log(
    `concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, GET ${PATH}` +
      (pinned ? ', load on CPU 0 and emulator on CPU 1' : ', not pinned'),
  );
  line(
    'raw undici',
    raws.map((r) => r.rate),
    'req/s',
    0,
  );
  line(
    'our client',
    ours.map((r) => r.rate),
    'req/s',
    0,
  );
  line(
    'raw undici',
    raws.map((r) => r.cpuMicros),
    'µs CPU/request',
    1,
  );
  line(
    'our client',
    ours.map((r) => r.cpuMicros),
    'µs CPU/request',
    1,
  );
  line('rate ratio client/raw per round', rateRatios, '', 2);
  line('CPU ratio raw/client per round', cpuRatios, '', 2);
  console.log(
    `median rate ratio ${median(rateRatios).toFixed(2)}, median CPU ratio ${median(cpuRatios).toFixed(2)} ` +
      `(target ≥ 0.90); emulator ≥ 2000 req/s: ${rawMedian >= 2000 ? 'yes' : 'NO'}`,
  );
  await client.close();
  await raw.close();
} finally {
  await emulator.stop();
}
