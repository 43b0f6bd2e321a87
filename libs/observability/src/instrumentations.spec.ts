import { describe, expect, it } from 'vitest';
import { isRoutineRequest, redisStatement } from './instrumentations';
import { kubernetesAttributes } from './service-telemetry';
import { loadConfig, otelSchema } from '@meterkeep/config';

describe('redisStatement', () => {
  it('shows a command and its key, never the value it writes', () => {
    expect(redisStatement('set', ['bs:nonce:abc', 'the-nonce-value', 'PX', '60000'])).toBe(
      'SET bs:nonce:abc',
    );
    expect(redisStatement('hset', ['bs:device:x', 'value', '{"psk":"…"}'])).toBe('HSET bs:device:x');
  });

  it('never shows the arguments of AUTH, HELLO, ACL or CONFIG (passwords)', () => {
    expect(redisStatement('auth', ['bootstrap', 's3cret-password'])).toBe('AUTH');
    expect(redisStatement('HELLO', ['3', 'AUTH', 'bootstrap', 's3cret-password'])).toBe('HELLO');
    expect(redisStatement('acl', ['SETUSER', 'x', '>s3cret-password'])).toBe('ACL');
    expect(redisStatement('config', ['SET', 'requirepass', 's3cret-password'])).toBe('CONFIG');
  });

  it('shows a script call by its keys, not its script or arguments', () => {
    expect(redisStatement('evalsha', ['0123abcd', '2', 'k:1', 'k:2', 'argument-value'])).toBe(
      'EVALSHA k:1 k:2',
    );
    expect(redisStatement('eval', ['return redis.call(...)', '1', 'k:1', 'v'])).toBe('EVAL k:1');
    expect(redisStatement('ping', [])).toBe('PING');
  });
});

describe('isRoutineRequest', () => {
  it('is true for probes and scrapes only', () => {
    expect(isRoutineRequest({ url: '/health/ready' })).toBe(true);
    expect(isRoutineRequest({ url: '/metrics?x=1' })).toBe(true);
    expect(isRoutineRequest({ url: '/bs/v1/psk/bootstrap' })).toBe(false);
    expect(isRoutineRequest({ url: '/v1/devices/health' })).toBe(false);
  });
});

describe('kubernetesAttributes', () => {
  it('names the pod, its namespace and node from the downward-API variables', () => {
    const otel = loadConfig(otelSchema, {
      K8S_POD_NAME: 'bootstrap-7d9f',
      K8S_POD_UID: '1f0e',
      K8S_NAMESPACE_NAME: 'meterkeep',
      K8S_NODE_NAME: 'node-1',
    });
    expect(kubernetesAttributes(otel)).toEqual({
      'k8s.pod.name': 'bootstrap-7d9f',
      'k8s.pod.uid': '1f0e',
      'k8s.namespace.name': 'meterkeep',
      'k8s.node.name': 'node-1',
    });
  });

  it('adds nothing outside Kubernetes', () => {
    expect(kubernetesAttributes(loadConfig(otelSchema, {}))).toEqual({});
  });
});
