/** wirefall's version, reported in every output (kept in step with core/package.json by a test). */
export const VERSION = '0.1.0';
