import { type Attributes, trace } from '@opentelemetry/api';

export const TRACER_NAME = 'meterkeep-kafka';

/** Looked up per use, so a provider registered after this module loaded is still the one used. */
export function kafkaTracer() {
  return trace.getTracer(TRACER_NAME);
}

/** OpenTelemetry messaging semantic conventions, spelled out: the incubating package is not a dependency. */
export function messagingAttributes(
  topic: string,
  operation: 'send' | 'process',
  extra: Attributes = {},
): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.destination.name': topic,
    'messaging.operation.type': operation,
    'messaging.operation.name': operation,
    ...extra,
  };
}
