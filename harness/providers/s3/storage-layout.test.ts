import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listProfiles, loadProfile } from '../../../fixtures/load.ts';
import type { Profile } from '../../../fixtures/schema.ts';
import { SEEDS_DIR, sharedSeedsMissing } from '../../../fixtures/shared-seeds.ts';
import { checkKey, checkPrefix, compareKeys } from './object-store.ts';
import { AUDIT_LOG_FOLDER, keyFor, OBJECT_KINDS, parseTag, storageLayout, tagsFor } from './storage-layout.ts';

/** The check against the seed's text runs where ../shared is; elsewhere it skips, saying so once. */
const withSeeds = it.skipIf(sharedSeedsMissing() !== undefined);

describe('keyFor', () => {
  it('lays out every kind under its seed prefix', () => {
    expect(keyFor('artifact', 41, 'coverage/index.html')).toBe('artifacts/41/coverage/index.html');
    expect(keyFor('test-results', 41, 'junit.xml')).toBe('test-results/41/junit.xml');
    expect(keyFor('step-output', 41, 2)).toBe('action-logs/41/0/2.log');
    expect(keyFor('step-output', 41, 'checkout', 3)).toBe('action-logs/41/3/checkout.log');
    expect(keyFor('cache', 'gh/GERey/pipeline', 'v1-deps-abc123')).toBe('artifacts/caches/gh/GERey/pipeline/v1-deps-abc123');
    expect(keyFor('workspace', 7, 'layer-0.tar.gz')).toBe('artifacts/workspaces/7/layer-0.tar.gz');
    expect(keyFor('task-config', 41)).toBe('artifacts/picard-task-configs/41.json');
    expect(keyFor('audit-log', new Date('2024-05-06T13:04:05.678+02:00'), 'a1b2')).toBe('audit-logs/audit_log/v1/2024/05/06/20240506T110405Z-a1b2.json');
  });

  it('dates audit logs in UTC: a flush just before midnight UTC stays on its day', () => {
    expect(keyFor('audit-log', new Date('2024-12-31T23:59:59Z'), 'x')).toBe('audit-logs/audit_log/v1/2024/12/31/20241231T235959Z-x.json');
  });

  it.each([
    () => keyFor('artifact', -1, 'a'),
    () => keyFor('artifact', 1.5, 'a'),
    () => keyFor('artifact', 'a/b', 'a'),
    () => keyFor('artifact', '', 'a'),
    () => keyFor('artifact', 'caches', 'a'),
    () => keyFor('artifact', 'picard-task-configs', 'a'),
    () => keyFor('artifact', 1, '../escape'),
    () => keyFor('artifact', 1, '/abs'),
    () => keyFor('test-results', 1, 'dir/'),
    () => keyFor('step-output', 1, 2, -1),
    () => keyFor('cache', 'gh//x', 'k'),
    () => keyFor('task-config', 'a/b'),
    () => keyFor('audit-log', new Date('nope'), 'x'),
    () => keyFor('audit-log', new Date(0), 'x/y'),
  ])('refuses bad parts with BAD_KEY (%#)', (call) => {
    expect(call).toThrow(expect.objectContaining({ code: 'BAD_KEY', hint: expect.any(String) }));
  });
});

describe('storageLayout', () => {
  const layout = storageLayout();

  it("reads the lifecycle prefixes from the profile, in the seed's order", () => {
    expect(layout.lifecyclePrefixes).toEqual(['artifacts', 'artifacts/picard-task-configs', 'action-logs', 'cache', 'audit-logs', 'code-signing-keys', 'test-results']);
  });

  it("gives each kind's key prefix, which every key of the kind starts with", () => {
    expect(layout.prefixes).toEqual({
      artifact: 'artifacts/',
      'test-results': 'test-results/',
      'step-output': 'action-logs/',
      cache: 'artifacts/caches/',
      workspace: 'artifacts/workspaces/',
      'task-config': 'artifacts/picard-task-configs/',
      'audit-log': 'audit-logs/audit_log/v1/',
    });
  });

  it('takes the cache and workspace tags from the fixtures; other kinds are untagged', () => {
    expect(tagsFor('cache')).toEqual({ 'circleci.object_type': 'project.cache' });
    expect(tagsFor('workspace')).toEqual({ 'circleci.object_type': 'workflow.workspace' });
    for (const kind of OBJECT_KINDS.filter((k) => k !== 'cache' && k !== 'workspace')) expect(tagsFor(kind), kind).toBeUndefined();
    expect(layout.rules.cache).toMatchObject({ prefix: 'artifacts', suggested_days: 15, description: 'Dependency caches' });
    expect(layout.rules['step-output']).toMatchObject({ prefix: 'action-logs', suggested_days: 365 });
  });

  it('accounts for every lifecycle rule: each is a kind the twin writes, or one the seed says is not actively used', () => {
    const used = new Set(OBJECT_KINDS.map((k) => layout.rules[k]));
    const unused = loadProfile('2.19.6').s3_lifecycle.filter((r) => !used.has(r));
    expect(unused.map((r) => r.prefix)).toEqual(['cache', 'code-signing-keys']);
    for (const r of unused) expect(`${r.description} ${r.deletion_side_effect}`).toMatch(/not actively used|no longer used actively/);
  });

  withSeeds("takes audit_log/v1 from the seed's FAQ, where the audit logs are listed by that prefix", () => {
    const seed = readFileSync(join(SEEDS_DIR, layout.rules['audit-log'].source.seed), 'utf8');
    expect(seed).toContain(`--prefix ${layout.rules['audit-log'].prefix}/${AUDIT_LOG_FOLDER}/`);
  });

  it('is the same for every profile (2.17.2 inherits the S3 layout)', () => {
    for (const version of listProfiles()) expect(storageLayout(loadProfile(version)).prefixes, version).toEqual(layout.prefixes);
  });

  it('fails loudly for a profile that lacks a rule a kind needs', () => {
    const profile = loadProfile('2.19.6');
    const broken = { ...profile, s3_lifecycle: profile.s3_lifecycle.filter((r) => r.prefix !== 'action-logs') } as Profile;
    expect(() => storageLayout(broken)).toThrow(/no S3 lifecycle rule for prefix 'action-logs' with no tag \(needed for step-output objects\)/);
  });

  it('parses tag expressions and refuses other shapes', () => {
    expect(parseTag('"circleci.object_type" === "project.cache"')).toEqual({ key: 'circleci.object_type', value: 'project.cache' });
    expect(parseTag(null)).toBeUndefined();
    expect(() => parseTag('object_type == cache')).toThrow(/not of the form/);
  });
});

describe('checkKey, checkPrefix, compareKeys', () => {
  it('accepts keys both stores can hold and names what is wrong with others', () => {
    expect(checkKey('artifacts/1/a b+c%.txt')).toBe('artifacts/1/a b+c%.txt');
    expect(() => checkKey('a/./b')).toThrow(/a '\.' segment/);
    expect(() => checkKey('x'.repeat(1025))).toThrow(/longer than 1024 bytes/);
    expect(() => checkKey('é'.repeat(513))).toThrow(/longer than 1024 bytes/);
    expect(() => checkKey('tab\there')).toThrow(/control character/);
  });

  it("takes '' and folder prefixes, and refuses escapes", () => {
    expect(checkPrefix('')).toBe('');
    expect(checkPrefix('action-logs/')).toBe('action-logs/');
    expect(checkPrefix('action-logs/4')).toBe('action-logs/4');
    expect(() => checkPrefix('../')).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
    expect(() => checkPrefix('/')).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
  });

  it("orders keys by UTF-8 bytes, as S3 lists them", () => {
    // U+FF61 sorts after U+1F600 in UTF-16 code units, before it in UTF-8 bytes.
    expect(['a/\u{1F600}', 'a/\uFF61', 'a/B', 'a/b'].sort(compareKeys)).toEqual(['a/B', 'a/b', 'a/\uFF61', 'a/\u{1F600}']);
  });
});
