import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHttpRoute, httpError } from '@meterkeep/contracts';
import { ApiSchemaRegistry } from './api-schemas';
import { ContractRoute } from './contract-route.decorator';

const thingCreate = z.strictObject({ mode: z.enum(['graceful', 'force']).default('graceful') });
const thing = z.object({ thingId: z.string(), mode: z.enum(['graceful', 'force']) });

const THING_CREATE = defineHttpRoute({
  name: 'test.thing.create',
  audience: 'operator',
  method: 'POST',
  path: '/v1/things',
  summary: 'Create a thing',
  request: thingCreate.describe('What to create'),
  responses: { 201: thing, 404: httpError('THING_NOT_FOUND: no such thing') },
  examples: [{ title: 'a thing', request: {}, status: 201, response: { thingId: 't', mode: 'graceful' } }],
});

describe('ApiSchemaRegistry.nameOf', () => {
  it('finds a component by its documentation: a described copy of a schema is that schema', () => {
    const schemas = new ApiSchemaRegistry();
    schemas.add('Thing', thing);
    expect(schemas.nameOf(thing.describe('another copy'), 'output')).toBe('Thing');
    expect(schemas.nameOf(httpError('THING_NOT_FOUND: no such thing'), 'output')).toBe('Error');
  });

  it('tells a request from an answer: a default makes a field optional in, required out', () => {
    const schemas = new ApiSchemaRegistry();
    schemas.add('ThingCreate', thingCreate, 'input');
    expect(schemas.nameOf(thingCreate, 'input')).toBe('ThingCreate');
    expect(schemas.nameOf(thingCreate, 'output')).toBeUndefined();
    expect(schemas.nameOf(z.object({ other: z.string() }), 'output')).toBeUndefined();
  });

  it('refuses two names for one schema: a $ref could point at either', () => {
    const schemas = new ApiSchemaRegistry();
    schemas.add('Thing', thing);
    schemas.add('SameThing', thing.describe('the same, described'));
    expect(() => schemas.nameOf(thing, 'output')).toThrow(/Thing and SameThing document the same schema/);
  });
});

describe('ContractRoute with a schema registry', () => {
  async function documentOf(schemas?: ApiSchemaRegistry) {
    @Controller()
    class ThingsController {
      @ContractRoute(THING_CREATE, schemas)
      create() {
        return { thingId: 't', mode: 'graceful' };
      }
    }
    @Module({ controllers: [ThingsController] })
    class ThingsModule {}
    const app = await NestFactory.create(ThingsModule, { logger: false });
    try {
      return SwaggerModule.createDocument(app, new DocumentBuilder().build()).paths['/v1/things']!.post!;
    } finally {
      await app.close();
    }
  }

  it('references the components the registry names, and keeps the descriptions a $ref drops', async () => {
    const schemas = new ApiSchemaRegistry();
    schemas.add('ThingCreate', thingCreate, 'input');
    schemas.add('Thing', thing);
    const operation = await documentOf(schemas);
    expect(operation.requestBody).toMatchObject({
      description: 'What to create',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ThingCreate' } } },
    });
    expect(operation.responses['201']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } },
    });
    expect(operation.responses['404']).toEqual({
      description: 'THING_NOT_FOUND: no such thing',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Error' } } },
    });
  });

  it('documents every schema inline without a registry', async () => {
    const operation = await documentOf();
    expect(JSON.stringify(operation)).not.toContain('$ref');
    expect(JSON.stringify(operation.responses['201'])).toContain('thingId');
  });
});
