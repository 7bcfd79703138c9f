import { AwsApiError } from './errors.ts';

/** One page of a Describe call and the opaque token of the next (an offset, base64-encoded). */
export function paginate<T>(
  items: readonly T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
  errorCode: 'InvalidParameterValue' | 'InvalidNextToken',
): { page: T[]; nextToken: string | undefined } {
  let offset = 0;
  if (nextToken !== undefined && nextToken !== '') {
    const decoded = /^o:(\d+)$/.exec(Buffer.from(nextToken, 'base64').toString('utf8'));
    if (decoded === null) throw new AwsApiError(errorCode, `Invalid NextToken: ${nextToken}`);
    offset = Number(decoded[1]);
  }
  if (maxResults === undefined) return { page: items.slice(offset), nextToken: undefined };
  const end = offset + maxResults;
  return {
    page: items.slice(offset, end),
    nextToken: end < items.length ? Buffer.from(`o:${end}`, 'utf8').toString('base64') : undefined,
  };
}
