import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from './object-store.ts';
import { OBJECT_KINDS, storageLayout, type KeyArgs, type ObjectKind } from './storage-layout.ts';

/**
 * The behaviour every `ObjectStore` must show, run against S3 (s3rver, LocalStack when present) and fileserved: the
 * pipeline relies on exactly this, so both are held to the same assertions.
 *
 * `open` is called once; the caller owns the store's lifecycle (start it before, stop it after). Each case writes
 * under its own random folder, so a shared endpoint's other objects never interfere.
 */
export function describeObjectStoreContract(label: string, open: () => ObjectStore | Promise<ObjectStore>): void {
  describe(`ObjectStore contract: ${label}`, () => {
    let store: ObjectStore;
    const fresh = () => `artifacts/contract-${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      store = await open();
    });

    it('put then get gives the same bytes and content type; text is stored as UTF-8', async () => {
      const dir = fresh();
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await store.put(`${dir}/all-bytes.bin`, bytes, 'application/octet-stream');
      await store.put(`${dir}/text.txt`, 'héllo ✓\n', 'text/plain; charset=utf-8');
      await store.put(`${dir}/empty`, '');
      const got = await store.get(`${dir}/all-bytes.bin`);
      expect(got?.body.equals(bytes)).toBe(true);
      expect(got?.contentType).toBe('application/octet-stream');
      expect(got?.key).toBe(`${dir}/all-bytes.bin`);
      const text = await store.get(`${dir}/text.txt`);
      expect(text?.body.toString('utf8')).toBe('héllo ✓\n');
      expect(text?.contentType).toBe('text/plain; charset=utf-8');
      expect((await store.get(`${dir}/empty`))?.body.length).toBe(0);
    });

    it('put replaces an object; get of a missing key is undefined', async () => {
      const dir = fresh();
      await store.put(`${dir}/a.log`, 'first', 'text/plain');
      await store.put(`${dir}/a.log`, 'second, longer', 'text/x-log');
      const got = await store.get(`${dir}/a.log`);
      expect(got?.body.toString()).toBe('second, longer');
      expect(got?.contentType).toBe('text/x-log');
      expect(await store.get(`${dir}/missing.log`)).toBeUndefined();
      expect(await store.list(`${dir}/`)).toEqual([{ key: `${dir}/a.log`, size: 14 }]);
    });

    it('list returns exactly the keys that start with the prefix, sorted, with sizes', async () => {
      const dir = fresh();
      for (const k of ['b/2.txt', 'a/1.txt', 'ab/3.txt', 'a/nested/deep/4.txt', 'b.txt']) await store.put(`${dir}/${k}`, k);
      expect(await store.list(`${dir}/a/`)).toEqual([
        { key: `${dir}/a/1.txt`, size: 7 },
        { key: `${dir}/a/nested/deep/4.txt`, size: 19 },
      ]);
      // A prefix need not end at a '/': it is a string prefix, as in S3.
      expect((await store.list(`${dir}/a`)).map((o) => o.key)).toEqual([`${dir}/a/1.txt`, `${dir}/a/nested/deep/4.txt`, `${dir}/ab/3.txt`]);
      expect((await store.list(`${dir}/b`)).map((o) => o.key)).toEqual([`${dir}/b.txt`, `${dir}/b/2.txt`]);
      expect(await store.list(`${dir}/nothing/`)).toEqual([]);
      expect(await store.list(`${fresh()}/`)).toEqual([]);
      const all = (await store.list('')).map((o) => o.key);
      expect(all).toEqual(expect.arrayContaining([`${dir}/a/1.txt`, `${dir}/b.txt`]));
    });

    it('delete removes the object (and nothing else); deleting a missing key is fine', async () => {
      const dir = fresh();
      await store.put(`${dir}/x/keep.txt`, 'keep');
      await store.put(`${dir}/x/y/gone.txt`, 'gone');
      await store.delete(`${dir}/x/y/gone.txt`);
      await store.delete(`${dir}/x/y/gone.txt`);
      await store.delete(`${dir}/never-there.txt`);
      expect(await store.get(`${dir}/x/y/gone.txt`)).toBeUndefined();
      expect((await store.list(`${dir}/`)).map((o) => o.key)).toEqual([`${dir}/x/keep.txt`]);
      // The emptied folder leaves no trace: its name can now be an object itself.
      await store.put(`${dir}/x/y`, 'now an object');
      expect((await store.get(`${dir}/x/y`))?.body.toString()).toBe('now an object');
    });

    it('keeps keys with spaces, unicode and URL-special characters exactly', async () => {
      const dir = fresh();
      const keys = [`${dir}/with space.txt`, `${dir}/ünï ☃.txt`, `${dir}/a+b=c&d.txt`, `${dir}/100%.txt`, `${dir}/q?#frag.txt`];
      for (const k of keys) await store.put(k, k);
      for (const k of keys) expect((await store.get(k))?.body.toString()).toBe(k);
      expect((await store.list(`${dir}/`)).map((o) => o.key).sort()).toEqual([...keys].sort());
    });

    it('refuses keys the two stores cannot hold alike, before any request, with BAD_KEY', async () => {
      for (const bad of ['', '/abs.txt', 'a//b.txt', 'a/../b.txt', './a.txt', 'folder/', 'nul\u0000.txt', 'x'.repeat(1025)]) {
        await expect(store.put(bad, 'x'), JSON.stringify(bad)).rejects.toMatchObject({ code: 'BAD_KEY' });
        await expect(store.get(bad)).rejects.toMatchObject({ code: 'BAD_KEY' });
      }
      await expect(store.list('a/../')).rejects.toMatchObject({ code: 'BAD_KEY' });
    });

    it('takes parallel writes of distinct keys', async () => {
      const dir = fresh();
      const keys = Array.from({ length: 24 }, (_, i) => `${dir}/p/${i % 3}/${i}.txt`);
      await Promise.all(keys.map((k) => store.put(k, k)));
      expect((await store.list(`${dir}/p/`)).length).toBe(keys.length);
      await Promise.all(keys.map((k) => store.delete(k)));
      expect(await store.list(`${dir}/p/`)).toEqual([]);
    });

    it("lands every kind of object under its seed prefix (keyFor), found by listing the kind's and the rule's prefix", async () => {
      const layout = storageLayout();
      const build = `contract${randomBytes(3).toString('hex')}`;
      const args: { [K in ObjectKind]: KeyArgs[K] } = {
        artifact: [build, 'coverage/index.html'],
        'test-results': [build, 'junit.xml'],
        'step-output': [build, 3, 1],
        cache: [`gh/contract/${build}`, 'v1-deps-abc'],
        workspace: [build, 'layer-0.tar.gz'],
        'task-config': [build],
        'audit-log': [new Date('2024-05-06T13:00:00Z'), build],
      };
      for (const kind of OBJECT_KINDS) {
        const key = layout.keyFor(kind, ...(args[kind] as KeyArgs[typeof kind]));
        await store.put(key, `${kind} of ${build}`, 'text/plain', layout.tagsFor(kind));
        expect(key.startsWith(layout.prefixes[kind]), key).toBe(true);
        expect((await store.list(layout.prefixes[kind])).map((o) => o.key), kind).toContain(key);
        expect((await store.list(`${layout.rules[kind].prefix}/`)).map((o) => o.key), kind).toContain(key);
        expect((await store.get(key))?.body.toString()).toBe(`${kind} of ${build}`);
        await store.delete(key);
      }
    });
  });
}
