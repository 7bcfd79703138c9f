import { join } from 'node:path';
import type { BackendRunner } from '../runner.ts';
import { StartedBase, type Endpoint } from '../started-base.ts';
import { FileservedObjectStore } from './fileserved-object-store.ts';
import { FILESERVED_DIRS } from './fileserved-server.ts';
import type { ObjectStore } from './object-store.ts';

/** A running fileserved (the twin's, in this process, or an external one speaking its protocol). */
export class StartedFileserved extends StartedBase {
  #store: FileservedObjectStore | undefined;

  /** Built by `FileservedProvider.start()`. */
  constructor(endpoint: Endpoint, runner: BackendRunner) {
    super(endpoint, runner);
  }

  /** Where the objects are files (`<objectsDir>/<key>`), for the embedded backend; undefined for an external one. */
  get objectsDir(): string | undefined {
    return this.dataDir === undefined ? undefined : join(this.dataDir, FILESERVED_DIRS.objects);
  }

  /** fileserved as the pipeline's `ObjectStore` (HTTP, like any other client of it). */
  store(): ObjectStore {
    this.#store ??= new FileservedObjectStore(this.url);
    return this.#store;
  }
}
