/**
 * `RunStoreError`: the data store cannot do what was asked (open its file, find a run, keep up with a recorder).
 *
 * @module
 */

/**
 * A data-store failure callers may catch and show as is. The message says what failed and where:
 * `Cannot open the data store "./data/fishtank.kv": Permission denied`.
 */
export class RunStoreError extends Error {
  override name = "RunStoreError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
