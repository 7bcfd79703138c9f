import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { which } from '../providers/process.ts';
import { blobSha, commitSha, normalisePath, treeSha } from './git-objects.ts';

const CONFIG = 'version: 2.1\njobs:\n  build:\n    docker:\n      - image: circleci/node:12\n    steps:\n      - checkout\n';
const FILES = new Map([
  ['.circleci/config.yml', CONFIG],
  ['README.md', '# realitycheck\n'],
  ['src/a.js', 'a\n'],
  ['src/lib/b.js', 'b\n'],
  ['src.txt', 'sorts between src and src/ in git order\n'],
]);

describe('git object ids', () => {
  it.skipIf(which('git') === undefined)('agree with git for blobs, nested trees and commits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fake-ghe-git-'));
    try {
      const git = (...args: string[]): string =>
        execFileSync('git', args, {
          cwd: dir,
          encoding: 'utf8',
          env: {
            ...process.env,
            GIT_AUTHOR_NAME: 'GE Rey',
            GIT_AUTHOR_EMAIL: 'gerey@example.com',
            GIT_AUTHOR_DATE: '1597708860 +0000',
            GIT_COMMITTER_NAME: 'GE Rey',
            GIT_COMMITTER_EMAIL: 'gerey@example.com',
            GIT_COMMITTER_DATE: '1597708860 +0000',
            GIT_CONFIG_NOSYSTEM: '1',
            HOME: dir,
          },
        }).trim();
      git('init', '-q');
      for (const [path, content] of FILES) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
      git('add', '-A');
      git('commit', '-q', '-m', 'Initial commit');
      expect(blobSha(CONFIG)).toBe(git('hash-object', '.circleci/config.yml'));
      const tree = treeSha(FILES);
      expect(tree).toBe(git('rev-parse', 'HEAD^{tree}'));
      const sig = { name: 'GE Rey', email: 'gerey@example.com', timestampSec: 1597708860 };
      expect(commitSha({ tree, parents: [], author: sig, committer: sig, message: 'Initial commit' })).toBe(git('rev-parse', 'HEAD'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('normalises paths and refuses to climb out of the repository', () => {
    expect(normalisePath('/src//lib/./b.js/')).toBe('src/lib/b.js');
    expect(() => normalisePath('src/../../etc/passwd')).toThrow(RangeError);
  });
});
