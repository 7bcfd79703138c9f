import { createHash } from 'node:crypto';

/**
 * Git object ids computed the way git computes them (sha1 over `<type> <size>\0<body>`), so the fake GHE's SHAs
 * are deterministic functions of content and agree with `git hash-object` and `git commit` for the same input.
 */

/** The 40 zeros git uses for "no commit" (the `before` of a push that creates a branch). */
export const NULL_SHA = '0000000000000000000000000000000000000000';

function objectSha(type: 'blob' | 'tree' | 'commit', body: Buffer): string {
  const header = Buffer.from(`${type} ${body.length}\0`, 'utf8');
  return createHash('sha1').update(header).update(body).digest('hex');
}

/** The blob id of a file's content (`git hash-object`). */
export function blobSha(content: string | Buffer): string {
  return objectSha('blob', typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
}

interface TreeNode {
  files: Map<string, string>; // name -> blob sha
  dirs: Map<string, TreeNode>;
}

/** Normalises a repository path: no leading, trailing or doubled slashes; no `.` or `..` segments. */
export function normalisePath(path: string): string {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new RangeError(`path must not contain "..": ${path}`);
  return parts.join('/');
}

/**
 * The root tree id of a flat file map (`path -> content`), nested into subtrees as git does. Entries are sorted
 * by name, with a directory compared as `name/` (git's order), every file mode 100644.
 */
export function treeSha(files: ReadonlyMap<string, string>): string {
  const root: TreeNode = { files: new Map(), dirs: new Map() };
  for (const [path, content] of files) {
    const parts = normalisePath(path).split('/');
    let node = root;
    for (const dir of parts.slice(0, -1)) {
      let next = node.dirs.get(dir);
      if (next === undefined) {
        next = { files: new Map(), dirs: new Map() };
        node.dirs.set(dir, next);
      }
      node = next;
    }
    node.files.set(parts[parts.length - 1]!, blobSha(content));
  }
  return writeTree(root);
}

function writeTree(node: TreeNode): string {
  const entries: { sortKey: string; bytes: Buffer }[] = [];
  for (const [name, sha] of node.files) {
    entries.push({ sortKey: name, bytes: entry('100644', name, sha) });
  }
  for (const [name, child] of node.dirs) {
    entries.push({ sortKey: `${name}/`, bytes: entry('40000', name, writeTree(child)) });
  }
  // git compares names as bytes; code-unit order is the same for the ASCII paths repositories hold.
  entries.sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
  return objectSha('tree', Buffer.concat(entries.map((e) => e.bytes)));
}

function entry(mode: string, name: string, sha: string): Buffer {
  return Buffer.concat([Buffer.from(`${mode} ${name}\0`, 'utf8'), Buffer.from(sha, 'hex')]);
}

/** A person and a moment in a commit object. */
export interface GitSignature {
  name: string;
  email: string;
  /** Seconds since the epoch, UTC. */
  timestampSec: number;
}

/** The commit id of a commit object (tree, parents, author, committer, message), as `git commit` writes it. */
export function commitSha(input: {
  tree: string;
  parents: readonly string[];
  author: GitSignature;
  committer: GitSignature;
  message: string;
}): string {
  const sig = (s: GitSignature): string => `${s.name} <${s.email}> ${s.timestampSec} +0000`;
  const lines = [`tree ${input.tree}`, ...input.parents.map((p) => `parent ${p}`)];
  lines.push(`author ${sig(input.author)}`, `committer ${sig(input.committer)}`);
  const message = input.message.endsWith('\n') ? input.message : `${input.message}\n`;
  return objectSha('commit', Buffer.from(`${lines.join('\n')}\n\n${message}`, 'utf8'));
}
