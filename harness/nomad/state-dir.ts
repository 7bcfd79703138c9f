/**
 * The twin Nomad server's data dir (`/opt/nomad`): its state written to `server/state.json` on every committed
 * change, and read back when the server starts on a dir whose file it did not write (a volume restored from a
 * snapshot) or finds none (`sudo rm -rf /opt/nomad`).
 *
 *     NomadApiState ─commit─► save(): JSON of persisted() ─► state.json.tmp ─rename─► state.json   (synchronous)
 *     halt()  ─► writes stop (a stopped server writes nothing)
 *     resume() ─► the file as last written and no wipe since: memory kept (what clients reported meanwhile)
 *              ─► no file: the state wiped (a server on an empty data dir)
 *              ─► another file: the state restored from it (`NomadApiState.restore`: stale allocations)
 *
 * Every write is synchronous and atomic (rename), so a copy of the dir taken while this process is held (the
 * Services volume's snapshot runs synchronously in it) sees the state of one commit, never half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NomadApiState, PersistedNomadState } from './api-state.ts';

/** The state file, relative to the data dir (Nomad keeps its raft state under `server/`). */
export const NOMAD_STATE_FILE = join('server', 'state.json');

/** What `resume()` found in the data dir. */
export type NomadStartState = { kind: 'kept' } | { kind: 'empty'; forgotten: number } | { kind: 'restored'; jobs: number; staleAllocs: number };

export class NomadStateDir {
  private lastWritten: string | undefined;
  private wipesAtWrite: number;
  private writing = true;
  private readonly unsubscribe: () => void;

  constructor(
    readonly dir: string,
    private readonly state: NomadApiState,
  ) {
    this.wipesAtWrite = state.wipes;
    this.unsubscribe = state.onCommit(() => this.save());
    this.save();
  }

  get file(): string {
    return join(this.dir, NOMAD_STATE_FILE);
  }

  /** Writes the state if it changed (or the file is gone while the server runs: it writes its dir back). */
  save(): void {
    if (!this.writing || this.state.isClosed) return;
    const text = `${JSON.stringify(this.state.persisted())}\n`;
    if (text === this.lastWritten && existsSync(this.file)) return;
    mkdirSync(join(this.dir, 'server'), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, this.file);
    this.lastWritten = text;
    this.wipesAtWrite = this.state.wipes;
  }

  /** The server stopped: nothing is written until it starts again. */
  halt(): void {
    this.writing = false;
  }

  /** The server starts on its data dir: keeps, empties or restores its state from what the dir holds. */
  resume(): NomadStartState {
    const text = existsSync(this.file) ? readFileSync(this.file, 'utf8') : undefined;
    let found: NomadStartState;
    if (text !== undefined && text === this.lastWritten && this.state.wipes === this.wipesAtWrite) found = { kind: 'kept' };
    else if (text === undefined) {
      const forgotten = this.state.persisted().jobs.length;
      this.state.wipe();
      found = { kind: 'empty', forgotten };
    } else {
      let saved: PersistedNomadState;
      try {
        saved = JSON.parse(text) as PersistedNomadState;
      } catch (err) {
        throw new Error(`the Nomad data dir's ${this.file} is not JSON (${(err as Error).message}): remove /opt/nomad to start empty`);
      }
      found = { kind: 'restored', ...this.state.restore(saved) };
    }
    this.writing = true;
    this.lastWritten = undefined;
    this.save();
    return found;
  }

  /** Stops writing for good (the server stopped). */
  close(): void {
    this.writing = false;
    this.unsubscribe();
  }
}
