import { DEFAULT_VERSION } from '../../../fixtures/version.ts';
import type { LifecycleRule, Profile } from '../../../fixtures/schema.ts';
import { checkKey, ObjectStoreError, type ObjectTags } from './object-store.ts';

/** Defined by esbuild in the prebuilt bundles (bin/build.mjs): every version profile, read and checked at build time. */
declare const TWIN_PROFILES: Readonly<Record<string, Profile>> | undefined;

/**
 * The fixtures' reader, imported only when the sources run: the prebuilt bundles carry the profiles, so a pipeline
 * stage's thread that writes keys (output-processor, audit-log-service, and every stage that publishes audit events)
 * loads no YAML parser or schema for them. Importing fixtures/load.ts there cost each of 4 stage threads 0.1 CPU-s
 * at its start (and its V8 background threads about as much again), and reading the profile 0.1 CPU-s more at its
 * first write.
 */
const readProfile = typeof TWIN_PROFILES !== 'undefined' ? undefined : (await import('../../../fixtures/load.ts')).loadProfile;

/** The default version's profile: the bundle's copy, else read (and cached) by fixtures/load.ts. */
function defaultProfile(): Profile {
  const profile = readProfile === undefined ? TWIN_PROFILES?.[DEFAULT_VERSION] : readProfile(DEFAULT_VERSION);
  if (profile === undefined) throw new Error(`the bundle carries no profile ${DEFAULT_VERSION}: rebuild it (npm run build)`);
  return profile;
}

/**
 * Where each kind of object lands in the bucket (or under fileserved's root), by the seeds' S3 lifecycle table
 * (`s3_lifecycle` of the profile: "CircleCI Server AWS S3 Storage Lifecycle Guide").
 *
 * The seeds give the top-level prefixes and the tags that separate caches and workspaces from artifacts; they say
 * nothing about the layout below a prefix, except for audit logs (`audit-logs/audit_log/v1`, FAQ "Where can I find
 * the audit log(s)?"). The rest of each key is the twin's choice, written down in `KINDS` and README.md.
 */

/** The kinds of object the twin writes. */
export type ObjectKind = 'artifact' | 'test-results' | 'step-output' | 'cache' | 'workspace' | 'task-config' | 'audit-log';

/** A build: the pipeline's numeric build id, or an opaque single-segment id. */
export type BuildRef = number | string;

/** What each kind's key is made of, in order (`keyFor('artifact', 12, 'coverage/index.html')`). */
export interface KeyArgs {
  /** `artifacts/<build>/<path>`: store_artifacts deliverables, and the files store_test_results uploads. */
  artifact: [build: BuildRef, path: string];
  /** `test-results/<build>/<path>`: the timing data parsed from store_test_results (test splitting reads it). */
  'test-results': [build: BuildRef, path: string];
  /** `action-logs/<build>/<container>/<step>.log`: one step's output on one parallel container (default 0). */
  'step-output': [build: BuildRef, step: number | string, container?: number];
  /** `artifacts/caches/<project>/<cacheKey>`, tagged as a project cache. */
  cache: [project: string, cacheKey: string];
  /** `artifacts/workspaces/<workflow>/<path>`, tagged as a workflow workspace. */
  workspace: [workflow: number | string, path: string];
  /** `artifacts/picard-task-configs/<task>.json`. */
  'task-config': [task: number | string];
  /** `audit-logs/audit_log/v1/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-<id>.json` (UTC), one file per flush. */
  'audit-log': [at: Date, id: string];
}

interface KindSpec {
  /** The prefix of the lifecycle rule the kind falls under: how the rule is found in the profile. */
  readonly rulePrefix: string;
  /** The `circleci.object_type` value of a tagged rule (caches, workspaces), null for the untagged rule. */
  readonly objectType: string | null;
  /** Folders between the rule's prefix and the kind's own part of the key. */
  readonly folder: string;
}

/** The sub-path of `audit-logs` the seed names (001, FAQ: "found at the root of your object storage ... under /audit-logs/audit_log/v1"). */
export const AUDIT_LOG_FOLDER = 'audit_log/v1';

const KINDS: Readonly<Record<ObjectKind, KindSpec>> = {
  artifact: { rulePrefix: 'artifacts', objectType: null, folder: '' },
  'test-results': { rulePrefix: 'test-results', objectType: null, folder: '' },
  'step-output': { rulePrefix: 'action-logs', objectType: null, folder: '' },
  cache: { rulePrefix: 'artifacts', objectType: 'project.cache', folder: 'caches' },
  workspace: { rulePrefix: 'artifacts', objectType: 'workflow.workspace', folder: 'workspaces' },
  'task-config': { rulePrefix: 'artifacts/picard-task-configs', objectType: null, folder: '' },
  'audit-log': { rulePrefix: 'audit-logs', objectType: null, folder: AUDIT_LOG_FOLDER },
};

export const OBJECT_KINDS = Object.keys(KINDS) as readonly ObjectKind[];

/** The first segments below `artifacts/` that other kinds own, so a build id can never collide with them. */
const RESERVED_ARTIFACT_FOLDERS = new Set(['caches', 'workspaces', 'picard-task-configs']);

/** The object layout of one profile: its lifecycle prefixes, and the key, prefix and tags of each kind. */
export interface StorageLayout {
  /** The profile's lifecycle prefixes in the order the seed lists them, each once (`artifacts`, `action-logs`, ...). */
  readonly lifecyclePrefixes: readonly string[];
  /** Where each kind's keys start (`audit-log` → `audit-logs/audit_log/v1/`, `cache` → `artifacts/caches/`); ends in '/'. */
  readonly prefixes: Readonly<Record<ObjectKind, string>>;
  /** The lifecycle rule each kind falls under (retention days, what deleting it breaks). */
  readonly rules: Readonly<Record<ObjectKind, LifecycleRule>>;
  /** The key of one object of a kind. */
  keyFor<K extends ObjectKind>(kind: K, ...args: KeyArgs[K]): string;
  /** The tags a kind's objects carry (the lifecycle rule's tag), undefined for untagged kinds. */
  tagsFor(kind: ObjectKind): ObjectTags | undefined;
}

const layouts = new WeakMap<Profile, StorageLayout>();

/**
 * The layout of a profile (default: the default version's). Every kind's rule must be in the profile's
 * `s3_lifecycle`: a profile without one is a fixture error, reported here with the missing prefix and tag.
 */
export function storageLayout(profile: Profile = defaultProfile()): StorageLayout {
  let layout = layouts.get(profile);
  if (layout === undefined) {
    layout = buildLayout(profile);
    layouts.set(profile, layout);
  }
  return layout;
}

/** `storageLayout().keyFor(...)`: the key of an object of the default profile. */
export function keyFor<K extends ObjectKind>(kind: K, ...args: KeyArgs[K]): string {
  return storageLayout().keyFor(kind, ...args);
}

/** `storageLayout().tagsFor(kind)`. */
export function tagsFor(kind: ObjectKind): ObjectTags | undefined {
  return storageLayout().tagsFor(kind);
}

function buildLayout(profile: Profile): StorageLayout {
  const rules = {} as Record<ObjectKind, LifecycleRule>;
  const tags = {} as Record<ObjectKind, ObjectTags | undefined>;
  const prefixes = {} as Record<ObjectKind, string>;
  for (const kind of OBJECT_KINDS) {
    const spec = KINDS[kind];
    const rule = profile.s3_lifecycle.find((r) => r.prefix === spec.rulePrefix && (parseTag(r.tag)?.value ?? null) === spec.objectType);
    if (rule === undefined) {
      const wanted = spec.objectType === null ? 'with no tag' : `tagged circleci.object_type = ${spec.objectType}`;
      // A broken invariant of the fixtures, not an operating error: the seeds list every one of these rules.
      throw new Error(`profile ${profile.version}: no S3 lifecycle rule for prefix '${spec.rulePrefix}' ${wanted} (needed for ${kind} objects); add it to s3_lifecycle in fixtures/${profile.version}/platform.yaml`);
    }
    const tag = parseTag(rule.tag);
    rules[kind] = rule;
    tags[kind] = tag === undefined ? undefined : Object.freeze({ [tag.key]: tag.value });
    prefixes[kind] = `${[rule.prefix, spec.folder].filter((p) => p !== '').join('/')}/`;
  }
  const frozenPrefixes = Object.freeze(prefixes);
  return Object.freeze({
    lifecyclePrefixes: Object.freeze([...new Set(profile.s3_lifecycle.map((r) => r.prefix))]),
    prefixes: frozenPrefixes,
    rules: Object.freeze(rules),
    keyFor: <K extends ObjectKind>(kind: K, ...args: KeyArgs[K]) => checkKey(frozenPrefixes[kind] + ownPart(kind, args)),
    tagsFor: (kind: ObjectKind) => tags[kind],
  });
}

/** The part of a key after the kind's prefix. */
function ownPart(kind: ObjectKind, args: KeyArgs[ObjectKind]): string {
  const a = args as unknown[];
  switch (kind) {
    case 'artifact':
    case 'test-results':
      return `${buildSegment(kind, a[0] as BuildRef)}/${a[1] as string}`;
    case 'step-output': {
      const container = (a[2] as number | undefined) ?? 0;
      if (!Number.isSafeInteger(container) || container < 0) throw badPart(kind, 'container', container, 'a container index 0, 1, ...');
      return `${buildSegment(kind, a[0] as BuildRef)}/${container}/${segment(kind, 'step', a[1] as number | string)}.log`;
    }
    case 'cache':
      return `${a[0] as string}/${a[1] as string}`;
    case 'workspace':
      return `${segment(kind, 'workflow', a[0] as number | string)}/${a[1] as string}`;
    case 'task-config':
      return `${segment(kind, 'task', a[0] as number | string)}.json`;
    case 'audit-log':
      return auditLogPart(a[0] as Date, segment(kind, 'id', a[1] as string));
  }
}

/** `2024/05/06/20240506T130000Z-<id>.json`: a day folder, then a name that starts with the flush time (the seed: "each file starts with a timestamp"). */
function auditLogPart(at: Date, id: string): string {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw badPart('audit-log', 'at', at, 'a valid Date');
  const iso = at.toISOString(); // 2024-05-06T13:00:00.000Z, always UTC
  const [yyyy, mm, dd] = [iso.slice(0, 4), iso.slice(5, 7), iso.slice(8, 10)];
  const stamp = `${yyyy}${mm}${dd}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${yyyy}/${mm}/${dd}/${stamp}-${id}.json`;
}

function buildSegment(kind: ObjectKind, build: BuildRef): string {
  const s = segment(kind, 'build', build);
  if (RESERVED_ARTIFACT_FOLDERS.has(s)) throw badPart(kind, 'build', build, `an id other than ${[...RESERVED_ARTIFACT_FOLDERS].join(', ')} (folders of other kinds under artifacts/)`);
  return s;
}

/** One path segment: a non-negative integer, or text without '/'. */
function segment(kind: ObjectKind, name: string, value: number | string): string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw badPart(kind, name, value, 'a non-negative integer or a string without /');
    return String(value);
  }
  if (typeof value !== 'string' || value === '' || value.includes('/')) throw badPart(kind, name, value, 'a non-negative integer or a non-empty string without /');
  return value;
}

function badPart(kind: ObjectKind, name: string, value: unknown, expected: string): ObjectStoreError {
  return new ObjectStoreError('BAD_KEY', `keyFor('${kind}'): ${name} ${JSON.stringify(value)} is not ${expected}`, 'see KeyArgs in storage-layout.ts for what each kind takes');
}

/** `"circleci.object_type" === "project.cache"` (the fixtures' tag column) as a key and a value. */
export function parseTag(tag: string | null): { key: string; value: string } | undefined {
  if (tag === null) return undefined;
  const m = /^"([^"]+)"\s*===\s*"([^"]+)"$/.exec(tag.trim());
  if (!m) throw new Error(`S3 lifecycle tag ${JSON.stringify(tag)} is not of the form "key" === "value"; fix it in fixtures/<version>/platform.yaml`);
  return { key: m[1]!, value: m[2]! };
}
