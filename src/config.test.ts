import { describe, expect, it } from 'vitest';
import { ConfigError, temporalConfig } from './config.js';

describe('temporalConfig', () => {
  it.each([
    'localhost:7233',
    '127.0.0.1:7233',
    '[::1]:7233',
    'temporal-frontend.temporal.svc.cluster.local:7233',
    'my-ns.a1b2c.tmprl.cloud:7233',
    'temporal_frontend:1',
    'host:65535',
  ])('accepts %s', (address) => {
    expect(temporalConfig({ TEMPORAL_ADDRESS: address }).address).toBe(address);
  });

  it('defaults to localhost:7233', () => {
    expect(temporalConfig({}).address).toBe('localhost:7233');
  });

  it.each([
    'nonsense',
    'localhost',
    'http://localhost:7233',
    'dns:///localhost:7233',
    'localhost:7233/',
    ' localhost:7233',
    'local host:7233',
    'localhost:',
    'localhost:0',
    'localhost:65536',
    'localhost:port',
    '::1:7233',
    '',
  ])('refuses %j, naming the variable and the form host:port', (address) => {
    const attempt = () => temporalConfig({ TEMPORAL_ADDRESS: address });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/^bad configuration: TEMPORAL_ADDRESS: must be host:port, e\.g\. localhost:7233/);
    expect(attempt).toThrow(`got ${JSON.stringify(address)}`);
  });
});
