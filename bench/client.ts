/**
 * Our KubeSphere client against raw undici requests, side by side in one run, on the emulator.
 * Prints requests/second for each and their ratio. Not a test: figures go to docs/benchmarks.md.
 */
import { Agent } from 'undici';
import { KubeSphereClient } from '../src/kubesphere/client.js';
import { spawnEmulator } from './emulator-process.js';

const CONCURRENCY = 20;
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const PATH = '/kapis/iam.kubesphere.io/v1beta1/users/admin';

async function rate(run: () => Promise<void>): Promise<number> {
  let done = 0;
  const deadline = Date.now() + ROUND_MS;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        await run();
        done += 1;
      }
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const emulator = await spawnEmulator(['--controller-delay', '0']);
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

  await rate(rawCall); // warm-up of both paths
  await rate(clientCall);
  const rawRates: number[] = [];
  const clientRates: number[] = [];
  // Paired rounds in alternating order: drift on a shared machine then hits both sides alike.
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      rawRates.push(await rate(rawCall));
      clientRates.push(await rate(clientCall));
    } else {
      clientRates.push(await rate(clientCall));
      rawRates.push(await rate(rawCall));
    }
  }
  const rawMedian = median(rawRates);
  const clientMedian = median(clientRates);
  const ratios = clientRates.map((c, i) => c / rawRates[i]!);
  const fmt = (values: number[]) => values.map((v) => v.toFixed(0)).join(', ');
  console.log(`concurrency ${CONCURRENCY}, ${ROUNDS} interleaved rounds of ${ROUND_MS} ms, GET ${PATH}`);
  console.log(`raw undici : ${fmt(rawRates)} req/s (median ${rawMedian.toFixed(0)})`);
  console.log(`our client : ${fmt(clientRates)} req/s (median ${clientMedian.toFixed(0)})`);
  console.log(`ratio client/raw per round: ${ratios.map((r) => r.toFixed(2)).join(', ')}`);
  console.log(
    `median ratio: ${median(ratios).toFixed(2)} (target ≥ 0.90); emulator ≥ 2000 req/s: ${rawMedian >= 2000 ? 'yes' : 'NO'}`,
  );
  await client.close();
  await raw.close();
} finally {
  await emulator.stop();
}
