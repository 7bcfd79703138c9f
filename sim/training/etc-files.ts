/**
 * The Services machine's customization files (the seeds' "Service Configuration Overrides" and "Configuring the
 * JVM Heap Size"): `/etc/circleconfig/<service>/customizations`, each a list of `export NAME="value"` lines that
 * Replicated reads when it creates the service's container, and `/etc/circle-installation-customizations` for
 * all of them. Editing a file changes nothing until the app is stopped and started again (a `docker restart`
 * keeps the container and so its environment). Pure: the session owns one and calls `applyAt` on app start.
 */

/** The directory the overrides live in. */
export const CIRCLECONFIG = '/etc/circleconfig';
/** The general file: `JVM_HEAP_SIZE` and `CIRCLE_URL` for every container that reads them. */
export const INSTALLATION_CUSTOMIZATIONS = '/etc/circle-installation-customizations';

/** The seeds' "Available Overrides": the directories under /etc/circleconfig a customizations file takes effect in. */
export const OVERRIDE_DIRS = [
  'api-service', 'audit-log-service', 'contexts-service-db-migrator', 'contexts-service', 'cron-service-db-migrator', 'cron-service',
  'domain-service-migrator', 'domain-service', 'federations-service-db-migrator', 'federations-service-migrator', 'frontend', 'output-processor',
  'permissions-service-migrator', 'permissions-service', 'picard-dispatcher', 'schedulerer', 'test-results', 'vm-gc', 'vm-scaler',
  'vm-service-db-migrator', 'vm-service', 'workflows-conductor',
] as const;

/** Bounds: files the machine holds under /etc/circleconfig, and the size of one file. */
export const MAX_ETC_FILES = 200;
export const MAX_ETC_FILE_BYTES = 64 * 1024;

/** What a file operation answered: output as the coreutils word it, and an exit code. */
export interface FileAnswer {
  output: string;
  exit: number;
}

/** Whether the trainee may write `path` at all (the twin keeps only these files). */
function writable(path: string): boolean {
  return path === INSTALLATION_CUSTOMIZATIONS || path.startsWith(`${CIRCLECONFIG}/`);
}

/** Normalises `a//b/./c/` to `a/b/c` (absolute paths only; `..` is not followed, the twin's shell has no cwd below /). */
export function normalisePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  return `/${parts.join('/')}`;
}

/**
 * The `export NAME=value` lines of a customizations file, as the shell that sources it would export them:
 * `export A="x"` and `export A=x`; a line without `export` sets a shell variable the container never sees.
 */
export function exportsOf(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m) continue;
    let v = m[2]!.trim();
    if ((v.startsWith('"') && v.endsWith('"') && v.length >= 2) || (v.startsWith("'") && v.endsWith("'") && v.length >= 2)) v = v.slice(1, -1);
    env[m[1]!] = v;
  }
  return env;
}

/** The files under /etc the trainee can read and change, and the environment each container was created with. */
export class EtcFiles {
  private readonly dirs = new Set<string>([CIRCLECONFIG]);
  private readonly files = new Map<string, string>([[INSTALLATION_CUSTOMIZATIONS, '']]);
  /** The environment each container got from the files when the app last started (none at first: nothing customised). */
  private readonly applied = new Map<string, Record<string, string>>();

  /** The directories and files as they are (the live console keeps them on disk between commands). */
  contents(): { dirs: string[]; files: [string, string][] } {
    return { dirs: [...this.dirs].sort(), files: [...this.files.entries()].sort(([a], [b]) => a.localeCompare(b)) };
  }

  /** Files read back (from disk, on the live stack): each directory and file as a root's `mkdir -p` and write would make it. */
  static of(dirs: readonly string[], files: readonly (readonly [string, string])[]): EtcFiles {
    const etc = new EtcFiles();
    for (const d of dirs) etc.mkdir(d, true, true);
    for (const [p, text] of files) {
      etc.mkdir(p.slice(0, p.lastIndexOf('/')), true, true);
      etc.write(p, text, false, true, 'tee');
    }
    return etc;
  }

  /** `cat PATH`. */
  cat(path: string): FileAnswer {
    const p = normalisePath(path);
    const text = this.files.get(p);
    if (text !== undefined) return { output: text.replace(/\n$/, ''), exit: 0 };
    if (this.dirs.has(p)) return { output: `cat: ${path}: Is a directory`, exit: 1 };
    return { output: `cat: ${path}: No such file or directory`, exit: 1 };
  }

  /** `ls [PATH]`: a directory's entries, sorted, or the file itself. */
  ls(path: string): FileAnswer {
    const p = normalisePath(path);
    if (this.files.has(p)) return { output: path, exit: 0 };
    if (!this.dirs.has(p) && p !== '/etc') return { output: `ls: cannot access '${path}': No such file or directory`, exit: 2 };
    const prefix = p === '/' ? '/' : `${p}/`;
    const names = new Set<string>();
    for (const x of [...this.dirs, ...this.files.keys()]) if (x.startsWith(prefix) && x !== p) names.add(x.slice(prefix.length).split('/')[0]!);
    return { output: [...names].sort().join('\n'), exit: 0 };
  }

  /** `mkdir [-p] PATH` (as root). */
  mkdir(path: string, parents: boolean, sudo: boolean): FileAnswer {
    const p = normalisePath(path);
    if (!sudo) return { output: `mkdir: cannot create directory '${path}': Permission denied`, exit: 1 };
    if (this.dirs.has(p) || this.files.has(p)) return parents ? { output: '', exit: 0 } : { output: `mkdir: cannot create directory '${path}': File exists`, exit: 1 };
    if (!writable(p)) return { output: `mkdir: the twin's Services machine keeps only ${CIRCLECONFIG}/...: '${path}' is not created`, exit: 1 };
    const parent = p.slice(0, p.lastIndexOf('/'));
    if (!this.dirs.has(parent) && !parents) return { output: `mkdir: cannot create directory '${path}': No such file or directory`, exit: 1 };
    for (let d = p; d.length > CIRCLECONFIG.length; d = d.slice(0, d.lastIndexOf('/'))) this.dirs.add(d);
    return { output: '', exit: 0 };
  }

  /** Writes a file (`tee`, `>`, `>>`): `who` is the program named in errors (`tee`, or `bash` for a redirection). */
  write(path: string, text: string, append: boolean, sudo: boolean, who: 'tee' | 'bash'): FileAnswer {
    const p = normalisePath(path);
    const denied = who === 'tee' ? `tee: ${path}: Permission denied` : `bash: ${path}: Permission denied`;
    if (!sudo) return { output: denied, exit: 1 };
    if (this.dirs.has(p)) return { output: `${who}: ${path}: Is a directory`, exit: 1 };
    if (!writable(p)) return { output: `${who}: the twin's Services machine keeps only ${CIRCLECONFIG}/... and ${INSTALLATION_CUSTOMIZATIONS}: '${path}' is not written`, exit: 1 };
    const parent = p.slice(0, p.lastIndexOf('/'));
    if (p !== INSTALLATION_CUSTOMIZATIONS && !this.dirs.has(parent)) return { output: `${who}: ${path}: No such file or directory`, exit: 1 };
    if (!this.files.has(p) && this.files.size >= MAX_ETC_FILES) return { output: `${who}: ${path}: No space left on device (the twin keeps ${MAX_ETC_FILES} files here)`, exit: 1 };
    const next = (append ? (this.files.get(p) ?? '') : '') + text;
    if (next.length > MAX_ETC_FILE_BYTES) return { output: `${who}: ${path}: File too large (the twin keeps ${MAX_ETC_FILE_BYTES} bytes a file)`, exit: 1 };
    this.files.set(p, next);
    return { output: '', exit: 0 };
  }

  /** `rm [-f] PATH` (as root). */
  rm(path: string, force: boolean, sudo: boolean): FileAnswer {
    const p = normalisePath(path);
    if (!this.files.has(p)) return force ? { output: '', exit: 0 } : { output: `rm: cannot remove '${path}': No such file or directory`, exit: 1 };
    if (!sudo) return { output: `rm: cannot remove '${path}': Permission denied`, exit: 1 };
    this.files.delete(p);
    return { output: '', exit: 0 };
  }

  /**
   * The environment `dir`'s container is created with from the files as they are now: the general file, then the
   * service's own (its values take precedence), for the seeds' override directories only.
   */
  environmentFor(dir: string): Record<string, string> {
    const own = (OVERRIDE_DIRS as readonly string[]).includes(dir) ? this.files.get(`${CIRCLECONFIG}/${dir}/customizations`) ?? '' : '';
    return { ...exportsOf(this.files.get(INSTALLATION_CUSTOMIZATIONS) ?? ''), ...exportsOf(own) };
  }

  /** The app starts: every container is created again, with the files as they are now. */
  applyAll(dirs: readonly string[]): void {
    this.applied.clear();
    for (const d of dirs) this.applied.set(d, this.environmentFor(d));
  }

  /** The customised environment a running container has (what it was created with). */
  appliedEnvironment(dir: string): Record<string, string> {
    return this.applied.get(dir) ?? {};
  }
}

/** A JVM heap size as `JVM_HEAP_SIZE` takes it (`2g`, `1536m`, `1048576k`, bytes), in bytes; undefined when unreadable. */
export function heapBytes(text: string): number | undefined {
  const m = /^(\d{1,7})([kKmMgG]?)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * unit;
}
