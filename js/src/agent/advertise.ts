/** §10 discovery: the participant attributes an agent that accepts shutdown requests sets. */
import { ATTR_KEY_IDS, ATTR_METHOD, ATTR_VERSIONS, METHOD_NAME, SUPPORTED_VERSIONS } from '../codes.js';

/** Method name, comma-separated versions and key ids (key ids contain no comma). */
export function advertisementAttributes(keyIds: readonly string[], versions: readonly number[] = SUPPORTED_VERSIONS): Record<string, string> {
  return { [ATTR_METHOD]: METHOD_NAME, [ATTR_VERSIONS]: versions.join(','), [ATTR_KEY_IDS]: keyIds.join(',') };
}
