/** The environment does not hold a usable API key: a misconfiguration, said in one line. */
export class ApiKeyConfigError extends Error {
  override readonly name = 'ApiKeyConfigError';
}

/**
 * The operator's API key, as every CLI takes it: METERKEEP_API_KEY_FILE (a file holding it) or
 * METERKEEP_API_KEY. Checked by shape only and never repeated: the service decides whether it is valid.
 */
export async function apiKeyFromEnv(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => Promise<string>,
): Promise<string> {
  const file = env.METERKEEP_API_KEY_FILE;
  const key = (file ? await readFile(file) : (env.METERKEEP_API_KEY ?? '')).trim();
  if (!key) throw new ApiKeyConfigError('METERKEEP_API_KEY (or METERKEEP_API_KEY_FILE) is not set');
  if (!/^mk_[A-Za-z0-9_-]{1,200}$/.test(key))
    throw new ApiKeyConfigError('METERKEEP_API_KEY is not an API key (mk_<keyId>_<secret>)');
  return key;
}
