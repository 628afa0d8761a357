/**
 * Resolving an options object against its defaults.
 *
 * @module
 */

/**
 * `{ ...defaults, ...options }`, except that an option given as `undefined` keeps its default: callers often forward
 * optional values (`{ host: flags.host }`), and a plain spread would overwrite the default with `undefined`.
 */
export function withDefaults<D extends object>(
  defaults: D,
  options: Partial<D>,
): D {
  const resolved = { ...defaults };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (resolved as Record<string, unknown>)[key] = value;
  }
  return resolved;
}
