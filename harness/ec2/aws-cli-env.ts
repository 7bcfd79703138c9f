/**
 * The environment the contract tests run the AWS CLI in: the machine's environment without any `AWS_` setting,
 * test credentials, the region, and empty config files in `scratch` (so that a developer's own profile never
 * leaks in).
 */
export function awsCliEnv(scratch: string, region: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: `${scratch}/config`,
    AWS_SHARED_CREDENTIALS_FILE: `${scratch}/credentials`,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}
