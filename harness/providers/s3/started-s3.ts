import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { drivers } from '../drivers.ts';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/** Static credentials of a test endpoint (s3rver's dummy account, LocalStack's `test`, or those of the URL). */
export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** How to reach the bucket: settled by the provider. */
export interface S3Connection {
  readonly bucket: string;
  readonly region: string;
  readonly credentials: S3Credentials;
}

/**
 * A running S3 endpoint with the twin's bucket (embedded s3rver, LocalStack in a container, or external): clients
 * through `client()`, or the pipeline's `ObjectStore` through `store()`.
 */
export class StartedS3 extends StartedBase {
  readonly #connection: S3Connection;
  readonly #clients = new Set<S3Client>();
  #store: S3ObjectStore | undefined;

  /** Built by `S3Provider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner, connection: S3Connection) {
    super(endpoint, runner);
    this.#connection = connection;
  }

  /** The bucket every object of the twin goes into (created at start if missing). */
  get bucket(): string {
    return this.#connection.bucket;
  }
  get region(): string {
    return this.#connection.region;
  }
  get credentials(): S3Credentials {
    return this.#connection.credentials;
  }

  /**
   * The SDK configuration for this endpoint: path-style addressing (a bucket as a host name would need DNS for
   * `<bucket>.127.0.0.1`), static credentials, and checksums only where S3 requires them: s3rver neither checks nor
   * returns the SDK's default CRC32 checksums, and with them on the SDK refuses a stream body of unknown length.
   */
  clientConfig(): S3ClientConfig {
    return {
      endpoint: this.url,
      region: this.region,
      forcePathStyle: true,
      credentials: { ...this.credentials },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
  }

  /** An `S3Client` for this endpoint, destroyed by `stop()` if still open. */
  client(overrides: S3ClientConfig = {}): S3Client {
    const client = new (drivers.s3().S3Client)({ ...this.clientConfig(), ...overrides });
    this.#clients.add(client);
    return client;
  }

  /** The bucket as the pipeline's `ObjectStore` (one per handle, on a client of its own). */
  store(): ObjectStore {
    this.#store ??= new S3ObjectStore(this.client(), this.bucket);
    return this.#store;
  }

  protected override async closeClients(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    this.#clients.clear();
    this.#store = undefined;
  }
}
