import { describe, expect, it } from 'vitest';
import { startHealthServer } from './health.js';
import { createWorkerMetrics } from '../metrics/worker-metrics.js';

describe('the worker health server', () => {
  it('serves /metrics in the Prometheus text format beside /healthz and /readyz', async () => {
    const metrics = createWorkerMetrics({ processMetrics: false });
    metrics.kubesphereCall({ method: 'GET', path: '/oauth/userinfo', status: 200, seconds: 0.01 });
    const health = await startHealthServer(0, () => ({ ok: true }), '127.0.0.1', { metrics: metrics.registry });
    try {
      const answer = await fetch(`${health.url}/metrics`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(await answer.text()).toContain(
        'ks_onboard_kubesphere_requests_total{method="GET",route="/oauth/userinfo",status="200"} 1',
      );
      expect((await fetch(`${health.url}/healthz`)).status).toBe(200);
    } finally {
      await health.close();
    }
  });

  it('answers 404 at /metrics without metrics, 500 when they cannot be collected', async () => {
    const plain = await startHealthServer(0, () => ({ ok: true }), '127.0.0.1');
    const broken = await startHealthServer(0, () => ({ ok: true }), '127.0.0.1', {
      metrics: { contentType: 'text/plain', metrics: () => Promise.reject(new Error('boom')) },
    });
    try {
      expect((await fetch(`${plain.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${broken.url}/metrics`)).status).toBe(500);
    } finally {
      await plain.close();
      await broken.close();
    }
  });
});
