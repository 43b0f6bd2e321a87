import type { RequestListener } from 'node:http';
import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Logger } from '@meterkeep/observability';
import { InternalListener } from './internal-listener';
import type { ServiceIdentityFiles } from './service-identity-files';

/** This service's identity (ServiceIdentityFiles: the identity its files hold now), when its config names them. */
export const SERVICE_IDENTITY = Symbol('meterkeep:service-identity');
/** The ServiceCredential of this service's internal calls (mutual TLS with its identity), one agent. */
export const SERVICE_CREDENTIAL = Symbol('meterkeep:service-credential');
/** Where the internal listener listens: INTERNAL_PORT and HOST. */
export const INTERNAL_LISTEN = Symbol('meterkeep:internal-listen');
export const INTERNAL_LISTENER_LOGGER = Symbol('meterkeep:internal-listener-logger');

/** Runs the internal listener beside Nest's own, with the same application; closes it on shutdown. */
@Injectable()
export class InternalListenerHost implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private listener: InternalListener | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SERVICE_IDENTITY) private readonly identity: ServiceIdentityFiles,
    @Inject(INTERNAL_LISTEN) private readonly listen: { port: number; host: string },
    @Inject(INTERNAL_LISTENER_LOGGER) private readonly logger: Logger,
  ) {}

  /** The internal listener's https:// address (tests read the port chosen for INTERNAL_PORT=0). */
  get url(): string {
    if (!this.listener) throw new Error('The internal listener is not started');
    return this.listener.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.listener = new InternalListener({
      ...this.listen,
      identity: this.identity.current,
      handler: this.adapterHost.httpAdapter.getInstance<RequestListener>(),
      logger: this.logger,
    });
    await this.listener.listen();
    const listener = this.listener;
    this.unsubscribe = this.identity.onChange((identity) => listener.useIdentity(identity));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.unsubscribe?.();
    await this.listener?.close();
  }
}
