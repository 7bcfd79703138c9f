/** A reason the bundle in `dist` must not run, or undefined when it was built from exactly the files on disk. */
export function staleBundleReason(root: string, dist: string): string | undefined;
