import { BUNDLE_FORMAT, type FactoryBundle, factoryBundle } from './bundle.schema.js';
import { BundleError, type BundleIssue } from './bundle.errors.js';

/**
 * Parses one bundle (JSON text, or a value already parsed) and validates it against the schema.
 * Throws a BundleError: MALFORMED_JSON, UNSUPPORTED_FORMAT (another `format` tag) or INVALID_BUNDLE
 * with every issue, each naming its path (for example `credential.certificatePem`).
 */
export function parseBundle(input: unknown): FactoryBundle {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new BundleError('MALFORMED_JSON', `Bundle is not valid JSON: ${reason}`);
    }
  }
  const format =
    typeof value === 'object' && value !== null ? (value as { format?: unknown }).format : undefined;
  if (format !== undefined && format !== BUNDLE_FORMAT) {
    throw new BundleError(
      'UNSUPPORTED_FORMAT',
      `Bundle format ${JSON.stringify(format)} is not ${BUNDLE_FORMAT}`,
    );
  }
  const result = factoryBundle.safeParse(value);
  if (!result.success) {
    const issues: BundleIssue[] = result.error.issues.map((issue) => ({
      path: issue.path.map(String).join('.') || '(bundle)',
      message: issue.message,
    }));
    const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
    throw new BundleError('INVALID_BUNDLE', `Bundle is invalid: ${summary}`, issues);
  }
  return result.data;
}
