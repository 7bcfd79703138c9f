import type { BackendChoice, BackendKind } from '../providers/types.ts';
import { suggest } from '../../sim/util/suggest.ts';

/** The live stack's components whose backend can be chosen (and given as an external URL). */
export const CHOSEN_COMPONENTS = ['postgres', 'redis', 'rabbitmq', 'mongo', 'ldap', 's3', 'fileserved'] as const;
export type Chosen = (typeof CHOSEN_COMPONENTS)[number];

/** Which backends each component has (harness/providers/README.md has the table with what each one runs). */
export const BACKENDS_OF: Readonly<Record<Chosen, readonly BackendKind[]>> = {
  postgres: ['local', 'testcontainers', 'external', 'embedded'],
  redis: ['local', 'testcontainers', 'external', 'embedded'],
  rabbitmq: ['local', 'testcontainers', 'external', 'embedded'],
  mongo: ['local', 'testcontainers', 'external', 'embedded'],
  ldap: ['local', 'external'],
  s3: ['testcontainers', 'external', 'embedded'],
  fileserved: ['external', 'embedded'],
};

const CHOICES: readonly BackendChoice[] = ['auto', 'local', 'testcontainers', 'external', 'embedded'];

export type BackendChoices = Partial<Record<Chosen, BackendChoice>>;

/** A `--backend` value (or `TWIN_BACKEND`) that makes no sense: what was wrong, and an example. */
export class BackendChoiceError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'BackendChoiceError';
  }
}

const HINT = 'for example --backend embedded (every component that has one), or --backend postgres=local,rabbitmq=embedded';

/**
 * Parses backend choices: `KIND` sets every component that has that backend (`embedded`: PostgreSQL, Redis,
 * RabbitMQ, MongoDB, S3, fileserved; LDAP keeps `auto`), `COMPONENT=KIND` one component; comma-separated or
 * repeated, later entries winning. `where` names the source for errors (`--backend`, `TWIN_BACKEND`).
 */
export function parseBackendChoices(specs: readonly string[], where: string): BackendChoices {
  const out: BackendChoices = {};
  for (const item of specs.flatMap((s) => s.split(',')).map((s) => s.trim())) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      const kind = kindOf(item, where);
      for (const c of CHOSEN_COMPONENTS) if (kind === 'auto' || (BACKENDS_OF[c] as readonly string[]).includes(kind)) out[c] = kind;
      continue;
    }
    const component = item.slice(0, eq);
    if (!(CHOSEN_COMPONENTS as readonly string[]).includes(component)) {
      const s = suggest(component, CHOSEN_COMPONENTS);
      throw new BackendChoiceError(`${where}: unknown component \`${component}\`${s ? `; did you mean \`${s}\`?` : ''}`, `components: ${CHOSEN_COMPONENTS.join(', ')}; ${HINT}`);
    }
    const kind = kindOf(item.slice(eq + 1), where);
    const has = BACKENDS_OF[component as Chosen];
    if (kind !== 'auto' && !has.includes(kind)) throw new BackendChoiceError(`${where}: ${component} has no \`${kind}\` backend`, `${component} backends: auto, ${has.join(', ')}`);
    out[component as Chosen] = kind;
  }
  return out;
}

function kindOf(text: string, where: string): BackendChoice {
  if ((CHOICES as readonly string[]).includes(text)) return text as BackendChoice;
  const s = suggest(text, CHOICES);
  throw new BackendChoiceError(`${where}: unknown backend \`${text}\`${s ? `; did you mean \`${s}\`?` : ''}`, `backends: ${CHOICES.join(', ')}; ${HINT}`);
}

/** The choices of `TWIN_BACKEND` (same syntax as `--backend`), then those of the command line on top. */
export function backendChoices(cli: readonly string[], env: NodeJS.ProcessEnv = process.env): BackendChoices {
  return { ...(env.TWIN_BACKEND ? parseBackendChoices([env.TWIN_BACKEND], 'TWIN_BACKEND') : {}), ...parseBackendChoices(cli, '--backend') };
}
