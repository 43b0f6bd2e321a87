import { LocalStack, type LocalStackOptions } from '@meterkeep/local-stack';
import { stackClients } from './stack-clients';

/** The local stack (deploy/local) with its real readiness requests: what stack.sh and the demo run. */
export function openLocalStack(options: Omit<LocalStackOptions, 'clients'> = {}): LocalStack {
  return new LocalStack({ ...options, clients: stackClients });
}
