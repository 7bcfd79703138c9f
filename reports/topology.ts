import type { Container, Profile, Severity, SeverityCondition, Source } from '../fixtures/schema.ts';

/** One container as `twin topology --json` prints it: the fixture row without per-fact sources. */
export interface TopologyContainer {
  name: string;
  aliases: string[];
  in_table: boolean;
  severity: Severity | null;
  severity_condition: SeverityCondition | null;
  startup_dependencies: string[];
  externalizable: boolean;
  migrator: boolean;
  image: string | null;
  ports: Array<{ host: number | null; container: number; protocol: 'tcp' | 'udp'; ephemeral: boolean }>;
  health: { port: number; path: string; only_if_enabled: boolean } | null;
  source: Source;
}

/** The whole table of `twin topology --json`. */
export interface TopologyJson {
  version: string;
  containers: TopologyContainer[];
}

/** The container table as a plain JSON-ready object, in the fixture's (the seed's) order. */
export function topologyJson(profile: Profile): TopologyJson {
  return {
    version: profile.version,
    containers: profile.containers.map((c) => ({
      name: c.name,
      aliases: [...c.aliases],
      in_table: c.in_table,
      severity: c.severity,
      severity_condition: c.severity_condition ?? null,
      startup_dependencies: [...c.startup_dependencies],
      externalizable: c.externalizable,
      migrator: c.migrator,
      image: c.image ?? null,
      ports: c.ports.map((p) => ({ host: p.host, container: p.container, protocol: p.protocol, ephemeral: p.ephemeral })),
      health: c.health ? { port: c.health.port, path: c.health.path, only_if_enabled: c.health.only_if_enabled } : null,
      source: { ...c.source },
    })),
  };
}

interface Column {
  title: string;
  /** Wrap width; the widths plus two-space gaps fit in 160 columns. */
  width: number;
  cell: (c: Container) => string[];
}

/** The flag of a container whose ports or health endpoint are carried over from another profile's seed. */
const INHERITED = '^';

// Sized for the longest values of the seeds (e.g. federations-service-db-migrator, "severe [fileserved]").
const COLUMNS: readonly Column[] = [
  { title: 'NAME', width: 28, cell: (c) => [c.name] },
  { title: 'ALIASES', width: 31, cell: (c) => c.aliases },
  { title: 'SEVERITY', width: 19, cell: (c) => [severityText(c)] },
  { title: 'STARTUP DEPENDENCIES', width: 28, cell: (c) => c.startup_dependencies },
  { title: 'PORTS', width: 17, cell: portsText },
  { title: 'HEALTH', width: 16, cell: healthText },
  { title: 'FLAGS', width: 9, cell: flagsText },
];
const GAP = '  ';

/**
 * The container table as the twin knows it, in aligned plain-text columns that fit 160 columns: name, aliases,
 * severity (with its condition), startup dependencies, stable ports, health endpoint and flags, then a legend.
 */
export function renderTopology(profile: Profile): string {
  const rows = profile.containers.length;
  const inTable = profile.containers.filter((c) => c.in_table).length;
  const out: string[] = [
    `CircleCI Server ${profile.version}: ${rows} containers (${inTable} rows of the container table, ${rows - inTable} extra)`,
    '',
    renderLine(COLUMNS.map((col) => col.title)),
  ];
  for (const container of profile.containers) {
    const cells = COLUMNS.map((col) => wrap(col.cell(container), col.width));
    const height = Math.max(...cells.map((lines) => lines.length));
    for (let i = 0; i < height; i++) out.push(renderLine(cells.map((lines) => lines[i] ?? '')));
  }
  const inherited = profile.containers.map(inheritedFrom).find((from) => from !== undefined);
  out.push(
    '',
    'severity: as published; [ldap] applies only with LDAP authentication, [fileserved] only without S3 (otherwise mild: the component is idle)',
    'ports: stable host->container mappings of `docker ps`; "+N ephemeral" counts docker-assigned (327xx/328xx) host ports',
    'flags: ext = externalizable with a platinum support contract, migrator = runs once at startup, extra = not a row of the table',
  );
  if (inherited !== undefined) out.push(`${INHERITED} = ports and health not in this version's seed, carried over from the ${inherited} seed`);
  return out.join('\n') + '\n';
}

function renderLine(cells: readonly string[]): string {
  return cells
    .map((text, i) => (i === cells.length - 1 ? text : text.padEnd(COLUMNS[i]?.width ?? 0)))
    .join(GAP)
    .trimEnd();
}

/** Packs items into lines of at most `width` characters, comma-separated; an over-long item is cut into pieces. */
function wrap(items: readonly string[], width: number): string[] {
  if (items.length === 0) return ['-'];
  const lines: string[] = [];
  let line = '';
  items.forEach((item, i) => {
    const piece = i < items.length - 1 ? `${item},` : item;
    if (line === '') line = piece;
    else if (line.length + 1 + piece.length <= width) line = `${line} ${piece}`;
    else {
      lines.push(line);
      line = piece;
    }
    while (line.length > width) {
      lines.push(line.slice(0, width));
      line = line.slice(width);
    }
  });
  if (line !== '') lines.push(line);
  return lines;
}

function severityText(c: Container): string {
  if (c.severity === null) return 'n/a';
  return c.severity_condition === undefined ? c.severity : `${c.severity} [${c.severity_condition}]`;
}

/** The profile a container's ports or health endpoint were carried over from, if any. */
function inheritedFrom(c: Container): string | undefined {
  const sources = [...c.ports.map((p) => p.source), ...(c.health !== undefined ? [c.health.source] : [])];
  return sources.find((s) => s.inherited_from !== undefined)?.inherited_from;
}

function portsText(c: Container): string[] {
  const stable = c.ports
    .filter((p) => !p.ephemeral)
    .map((p) => (p.host === null ? `${p.container}/${p.protocol}` : `${p.host}->${p.container}/${p.protocol}`));
  const ephemeral = c.ports.filter((p) => p.ephemeral).length;
  return ephemeral > 0 ? [...stable, `+${ephemeral} ephemeral`] : stable;
}

function healthText(c: Container): string[] {
  if (c.health === undefined) return [];
  const endpoint = `${c.health.port}${c.health.path}`;
  return c.health.only_if_enabled ? [endpoint, 'if enabled'] : [endpoint];
}

function flagsText(c: Container): string[] {
  return [
    ...(c.externalizable ? ['ext'] : []),
    ...(c.migrator ? ['migrator'] : []),
    ...(c.in_table ? [] : ['extra']),
    ...(inheritedFrom(c) !== undefined ? [INHERITED] : []),
  ];
}
