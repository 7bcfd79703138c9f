import { readdirSync, readFileSync } from 'node:fs';

/** The process and all its descendants, from /proc/<pid>/task/<tid>/children (Linux). */
export function tree(root: number): number[] {
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) todo.push(Number(c));
      } catch {
        /* gone */
      }
    }
  }
  return out;
}
