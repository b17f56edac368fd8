/** §10 discovery: the participant attributes an agent that accepts shutdown requests sets. */
import { Attributes, METHOD, SUPPORTED_VERSIONS } from '../codes.js';

/** Method name, comma-separated versions and key ids (key ids contain no comma). */
export function advertisementAttributes(keyIds: readonly string[], versions: readonly number[] = SUPPORTED_VERSIONS): Record<string, string> {
  return { [Attributes.METHOD]: METHOD, [Attributes.VERSIONS]: versions.join(','), [Attributes.KEY_IDS]: keyIds.join(',') };
}
