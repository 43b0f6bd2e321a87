import type { BeforeApplicationShutdown, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from '@meterkeep/observability';
import { watchFiles } from '../files/watched-files';
import { type ServiceIdentity, type ServiceIdentityConfig, loadServiceIdentity } from './service-identity';

export interface ServiceIdentityFilesOptions {
  /** How long the files must stay quiet after a change before they are read (cert-manager writes three). */
  debounceMs?: number;
  /** Read again this often even without a change seen (a missed watch event). */
  pollMs?: number;
}

/**
 * This service's identity as its files hold it now. Read and checked at start-up (a bad identity stops the
 * service); then, while the application runs, read again whenever the files change (cert-manager renews
 * the Secret in place) and handed to whoever listens: the internal listener serves it to new
 * connections, internal calls present it on new connections. A renewal must name the same service and be
 * signed by the CA in PLATFORM_CA_FILE with a matching key; anything else (a half-written Secret among
 * them) is refused with a log line and the identity in use is kept.
 */
export class ServiceIdentityFiles implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private identity: ServiceIdentity;
  private readonly listeners = new Set<(identity: ServiceIdentity) => void>();
  private stopWatching: (() => void) | undefined;
  private reloading: Promise<boolean> = Promise.resolve(false);

  constructor(
    private readonly config: ServiceIdentityConfig,
    private readonly logger: Logger,
    private readonly options: ServiceIdentityFilesOptions = {},
  ) {
    this.identity = loadServiceIdentity(config);
  }

  get current(): ServiceIdentity {
    return this.identity;
  }

  /** Calls `listener` with each identity reloaded from now on; returns the unsubscribe. */
  onChange(listener: (identity: ServiceIdentity) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onApplicationBootstrap(): void {
    this.watch();
  }

  beforeApplicationShutdown(): void {
    this.close();
  }

  watch(): void {
    if (this.stopWatching) return;
    this.stopWatching = watchFiles({
      files: [
        this.config.SERVICE_TLS_CERT_FILE,
        this.config.SERVICE_TLS_KEY_FILE,
        this.config.PLATFORM_CA_FILE,
      ],
      debounceMs: this.options.debounceMs ?? 1_000,
      pollMs: this.options.pollMs ?? 300_000,
      onChange: () => void this.reload(),
      logger: this.logger,
      name: 'service identity',
    });
  }

  close(): void {
    this.stopWatching?.();
    this.stopWatching = undefined;
  }

  /** Reads the files again; true when a new identity is in use. Runs after any reload under way. */
  reload(): Promise<boolean> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private reloadOnce(): boolean {
    const old = this.identity;
    let next: ServiceIdentity;
    try {
      next = loadServiceIdentity(this.config);
    } catch (error) {
      this.logger.warn(
        { err: error, identity: old.name },
        'service identity files refused; keeping the identity in use',
      );
      return false;
    }
    if (
      next.certificatePem === old.certificatePem &&
      next.keyPem === old.keyPem &&
      next.platformCaPem === old.platformCaPem
    )
      return false;
    if (next.name !== old.name) {
      // Peers authorise this service by its CN: a certificate naming another service is not a renewal.
      this.logger.warn(
        { identity: old.name, presented: next.name },
        'service identity files name another service; keeping the identity in use',
      );
      return false;
    }
    this.identity = next;
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (error) {
        this.logger.error({ err: error, identity: next.name }, 'a service identity listener failed');
      }
    }
    this.logger.info({ identity: next.name }, 'service identity reloaded from its files');
    return true;
  }
}
