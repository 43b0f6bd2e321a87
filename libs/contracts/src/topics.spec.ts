import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectCommittedSchema } from './snapshot-test';
import { ENROLLMENT_DEVICES } from './events/enrollment-device.event';
import { TELEMETRY_READINGS } from './events/telemetry-reading.event';
import { ALL_TOPICS } from './topics';
import {
  ContractViolationError,
  deadLetterTopicName,
  PLATFORM_SERVICES,
  TOPIC_NAME,
  validateEvent,
} from './topic-contract';
import { schemaChangeProblems } from './schema-compatibility';
import { topicJsonSchema } from './schema-snapshot';

const snapshotDir = resolve(__dirname, '../schemas');

describe('topic registry', () => {
  it('names every topic once, as <domain>.<subject>.v<N>', () => {
    const names = ALL_TOPICS.map((t) => t.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(TOPIC_NAME);
    expect(deadLetterTopicName('device.lifecycle.v1')).toBe('device.lifecycle.v1.dlq');
  });

  // The brokers' ACLs are derived from these lists: a topic nobody owns could be written by nobody,
  // or would tempt someone to grant it to everybody.
  it.each(ALL_TOPICS.map((t) => [t.name, t] as const))(
    '%s: names the services that produce it (at least one) and consume it',
    (_, topic) => {
      expect(topic.producers.length).toBeGreaterThan(0);
      for (const service of [...topic.producers, ...topic.consumers])
        expect(PLATFORM_SERVICES).toContain(service);
      expect(new Set(topic.producers).size).toBe(topic.producers.length);
      expect(new Set(topic.consumers).size).toBe(topic.consumers.length);
    },
  );

  it.each(ALL_TOPICS.map((t) => [t.name, t] as const))(
    '%s: its example validates and has a key',
    (_, topic) => {
      const event = validateEvent(topic, topic.example);
      expect(topic.key(event)).toMatch(new RegExp(`^${event.tenantId}`));
      expect(topic.partitions).toBeGreaterThan(0);
    },
  );

  it.each(ALL_TOPICS.map((t) => [t.name, t] as const))(
    '%s: refuses an event without the envelope',
    (_, topic) => {
      const { eventId: _eventId, ...withoutId } = topic.example;
      expect(() => validateEvent(topic, withoutId)).toThrow(ContractViolationError);
      expect(() => validateEvent(topic, { ...topic.example, occurredAt: 'yesterday' })).toThrow(/occurredAt/);
    },
  );
});

describe('base64 fields', () => {
  const readings = TELEMETRY_READINGS;
  it('accept canonical padded base64 and refuse anything else', () => {
    const ciphertext = Buffer.from('sealed readings').toString('base64');
    expect(validateEvent(readings, { ...readings.example, ciphertext }).ciphertext).toBe(ciphertext);
    for (const bad of ['not base64!', 'QUJD\nREVG', 'QUI', 'QUJ=', 'QR==', '====QUJD'])
      expect(() => validateEvent(readings, { ...readings.example, ciphertext: bad }), bad).toThrow(
        /ciphertext/,
      );
  });
});

describe('schema compatibility on a topic', () => {
  it.each(ALL_TOPICS.map((t) => [t.name, t] as const))('%s matches its committed schema', (name, topic) => {
    expectCommittedSchema({
      name,
      file: resolve(snapshotDir, `${name}.schema.json`),
      current: topicJsonSchema(topic),
      problems: schemaChangeProblems,
      newVersion: 'a new topic version',
    });
  });
});

describe('schemaChangeProblems', () => {
  const base = {
    type: 'object',
    properties: { a: { type: 'string' }, b: { type: 'integer' }, c: { enum: ['x', 'y'] } },
    required: ['a', 'b'],
  };
  const withProps = (properties: object, required = base.required) => ({ ...base, properties, required });

  it('accepts an identical schema and a new optional property', () => {
    expect(schemaChangeProblems(base, base)).toEqual([]);
    expect(schemaChangeProblems(base, withProps({ ...base.properties, d: { type: 'string' } }))).toEqual([]);
  });

  it('refuses a removed field, a new required field, a changed type and a changed enum', () => {
    const { b: _b, ...withoutB } = base.properties;
    expect(schemaChangeProblems(base, withProps(withoutB, ['a']))).toEqual(
      expect.arrayContaining(['$.b: removed', '$.b: no longer required']),
    );
    expect(
      schemaChangeProblems(base, withProps({ ...base.properties, d: { type: 'string' } }, ['a', 'b', 'd'])),
    ).toEqual(['$.d: became required']);
    expect(schemaChangeProblems(base, withProps({ ...base.properties, b: { type: 'string' } }))).toEqual([
      '$.b: type changed from "integer" to "string"',
    ]);
    expect(
      schemaChangeProblems(base, withProps({ ...base.properties, c: { enum: ['x', 'y', 'z'] } })),
    ).toHaveLength(1);
  });
});

describe('enrollment.devices.v1 classId', () => {
  const { classId: _classId, ...older } = ENROLLMENT_DEVICES.example;

  it('is optional: a record from before it validates, without one', () => {
    expect(validateEvent(ENROLLMENT_DEVICES, older).classId).toBeUndefined();
    expect(validateEvent(ENROLLMENT_DEVICES, ENROLLMENT_DEVICES.example).classId).toBe('em300-eu');
  });

  it('is an identifier of at most 64 characters, as the factory bundle writes it', () => {
    for (const classId of ['', 'a b', '-em300', 'x'.repeat(65), 'em300/eu'])
      expect(() => validateEvent(ENROLLMENT_DEVICES, { ...older, classId })).toThrow(/classId/);
  });
});
