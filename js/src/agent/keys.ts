/**
 * Where a Node agent's verification keys come from: code, key files, or the SHUTDOWN_RPC_KEYS environment
 * variable, in the same three forms as the Python agent (agent_side/_keys.py): a key file's JSON object; a JSON
 * array of key objects and/or key file paths; or key file paths separated by the platform's path delimiter.
 *
 * A key that fails to load never ends the job: it is logged as an ERROR naming where it came from (SHUTDOWN_RPC_KEYS
 * and the entry's position, plus the path once the file opened), never its value, and left out, so requests
 * signed with it are refused UNKNOWN_KEY. Ed25519 private keys are reduced to their public half (with a warning).
 * Node's modules load when keys are loaded, so the /agent entry itself also loads in a browser (ShutdownDecider).
 */
import { Ed25519SigningKey, KeyError, KeyRing, parseKeyFile, type AnyKey, type VerifyingKey } from '../keys.js';
import type { AgentLogger } from './outcomes.js';

export const KEYS_ENV = 'SHUTDOWN_RPC_KEYS';
export const KEYS_ENV_FORMS =
  `${KEYS_ENV} holds a key file's JSON object, a JSON array of key objects and/or key file paths, ` +
  "or key file paths separated by the platform's path delimiter (':'; ';' on Windows)";
/** What a caller is told (UNKNOWN_KEY's detail) when the agent has no key at all. */
export const NO_KEYS_DETAIL = `this agent has no verification keys (${KEYS_ENV} unset): remote shutdown is disabled`;
export const NO_KEYS_LOG =
  `remote shutdown DISABLED for this job: no verification keys. ${KEYS_ENV_FORMS} (or pass keys / keyFiles ` +
  'to enableRemoteShutdown). The job carries on; every shutdown request is refused with UNKNOWN_KEY.';
const MAX_KEY_FILE_BYTES = 4096;

/** Where the keys come from; the environment is read only when neither `keys` nor `keyFiles` is given. */
export interface KeySources {
  keys?: KeyRing | Iterable<AnyKey | VerifyingKey>;
  keyFiles?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
}

class KeyLoadError extends Error {}

const FAILED_KEYS_DETAIL = "this agent's keys could not be loaded ({failed} of {configured} failed; see the agent's log)";

/** The keys that loaded, and the configured entries that did not (where, and why; never a key's value). */
export class LoadedKeys {
  constructor(
    readonly ring: KeyRing,
    readonly failures: readonly string[],
  ) {}

  get configured(): number {
    return this.ring.keyIds.length + this.failures.length;
  }

  /** What a caller whose key id is unknown is told, when this agent knows why (undefined: plain "unknown"). */
  unknownKeyDetail(): string | undefined {
    if (this.failures.length) return FAILED_KEYS_DETAIL.replace('{failed}', String(this.failures.length)).replace('{configured}', String(this.configured));
    return this.ring.keyIds.length ? undefined : NO_KEYS_DETAIL;
  }

  /** The one ERROR a job logs about its keys (the Python agent's text), or undefined when there is nothing to say. */
  errorLog(unsignedAllowed: boolean): string | undefined {
    if (!this.failures.length) return this.ring.keyIds.length || unsignedAllowed ? undefined : NO_KEYS_LOG;
    const listed = this.failures.join('; ');
    const [head, tail] = this.ring.keyIds.length
      ? [
          `remote shutdown: ${this.failures.length} of ${this.configured} configured keys could not be loaded`,
          `loaded: ${this.ring.keyIds.join(', ')}; requests signed with the others are refused with UNKNOWN_KEY`,
        ]
      : ['remote shutdown DISABLED for this job: none of its configured keys could be loaded', 'every signed request is refused with UNKNOWN_KEY'];
    return `${head}: ${listed}. The job carries on; ${tail}. ${KEYS_ENV_FORMS}.`;
  }
}

/** One KeyRing from `sources`; keys that fail to load are left out (see loadKeys for why). */
export async function loadKeyRing(sources: KeySources, logger: AgentLogger): Promise<KeyRing> {
  return (await loadKeys(sources, logger)).ring;
}

/** The keys of `sources`, and the entries that failed to load (never thrown: a job never dies of its keys). */
export async function loadKeys(sources: KeySources, logger: AgentLogger): Promise<LoadedKeys> {
  const loaded: VerifyingKey[] = [];
  const failures: string[] = [];
  const take = async (label: string, load: () => Promise<AnyKey | VerifyingKey>): Promise<void> => {
    try {
      loaded.push(verifying(await load(), label, logger));
    } catch (e) {
      const why = e instanceof KeyLoadError || e instanceof KeyError ? e.message : 'cannot be loaded';
      failures.push(why.startsWith(label) ? why : `${label}: ${why}`);
    }
  };
  if (sources.keys !== undefined) {
    const given = sources.keys instanceof KeyRing ? sources.keys.keyIds.map((id) => (sources.keys as KeyRing).get(id)) : sources.keys;
    let position = 0;
    for (const key of given) {
      position += 1;
      if (key !== undefined) await take(`keys entry #${position}`, () => Promise.resolve(key));
    }
  }
  for (const [index, path] of (sources.keyFiles ?? []).entries()) {
    await take(`keyFiles entry #${index + 1}`, () => readKeyFile(path, `keyFiles entry #${index + 1}`, path, logger));
  }
  if (sources.keys === undefined && (sources.keyFiles ?? []).length === 0) {
    const value = (sources.env ?? process.env)[KEYS_ENV] ?? '';
    await keysFromEnvValue(value, take, logger);
  }
  const ring = new KeyRing();
  for (const key of loaded) {
    if (ring.get(key.keyId)) failures.push(`key id ${key.keyId} given twice (the first one is kept)`);
    else ring.add(key);
  }
  return new LoadedKeys(ring, failures);
}

type Take = (label: string, load: () => Promise<AnyKey | VerifyingKey>) => Promise<void>;

async function keysFromEnvValue(value: string, take: Take, logger: AgentLogger): Promise<void> {
  const { delimiter } = await import('node:path');
  const text = value.trim();
  if (text === '') return;
  if (text.startsWith('{')) {
    await take(KEYS_ENV, () => parseKeyText(text));
    return;
  }
  if (text.startsWith('[')) {
    let items: unknown;
    try {
      items = JSON.parse(text);
    } catch {
      await take(KEYS_ENV, () => Promise.reject(new KeyLoadError('not valid JSON')));
      return;
    }
    const list = Array.isArray(items) ? items : [];
    for (const [index, item] of list.entries()) {
      const label = `${KEYS_ENV} entry #${index + 1}`;
      if (typeof item === 'string') await take(label, () => readKeyFile(item, label, undefined, logger));
      else if (typeof item === 'object' && item !== null && !Array.isArray(item)) await take(label, () => parseKeyFile(item as Record<string, unknown>));
      else await take(label, () => Promise.reject(new KeyLoadError('array items must be key objects or file paths')));
    }
    return;
  }
  for (const [index, part] of text.split(delimiter).entries()) {
    const label = `${KEYS_ENV} entry #${index + 1}`;
    if (part) await take(label, () => readKeyFile(part, label, undefined, logger));
  }
}

async function parseKeyText(text: string): Promise<AnyKey> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text); // its SyntaxError quotes the text: never let it out
  } catch {
    throw new KeyLoadError('not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KeyLoadError('not a JSON object');
  return parseKeyFile(parsed as Record<string, unknown>);
}

/**
 * The key in the file at `path`: one non-blocking open (a FIFO never blocks), regular files only, at most 4096
 * bytes. Errors name `label`; the path itself only once the file opened (a value that did not open as a file may
 * be a secret pasted where a path belongs).
 */
async function readKeyFile(path: string, label: string, shownPath: string | undefined, logger: AgentLogger): Promise<AnyKey> {
  const { constants, promises: fs } = await import('node:fs');
  let handle: Awaited<ReturnType<typeof fs.open>>;
  try {
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new KeyLoadError(`cannot read key file (${code})`);
  }
  const named = `${label} (${shownPath ?? path})`;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new KeyLoadError(`${named}: not a regular file`);
    if (stat.size > MAX_KEY_FILE_BYTES) throw new KeyLoadError(`${named}: key file is larger than ${MAX_KEY_FILE_BYTES} bytes`);
    const text = (await handle.readFile()).toString('utf8');
    let key: AnyKey;
    try {
      key = await parseKeyText(text);
    } catch (e) {
      throw new KeyLoadError(`${named}: ${e instanceof Error && (e instanceof KeyError || e instanceof KeyLoadError) ? e.message : 'invalid key file'}`);
    }
    const rewritable = await rewritableByOthers(path, stat.mode, shownPath ?? path);
    if (rewritable !== undefined) throw new KeyLoadError(`${named}: ${rewritable}`);
    const secret = key.algorithm === 'hmac-sha256' || key instanceof Ed25519SigningKey;
    if (secret && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8);
      logger.warn({ key_source: label }, `${named}: key file holds a secret but is accessible to group/others (mode ${mode}); chmod 600 it`);
    }
    return key;
  } finally {
    await handle.close();
  }
}

const WRITE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/**
 * Why group or others could replace the key in the file at `path` (its mode read on the open file), or
 * undefined (spec §12): a file they may write, or a folder they may write without the sticky bit (where they
 * could rename or remove it and put another file in its place), the folder of the path as given and that of the
 * file it resolves to. Called once the file opened and parsed as a key, so naming the path reveals no secret.
 */
async function rewritableByOthers(path: string, mode: number, shown: string): Promise<string | undefined> {
  if ((mode & WRITE_BY_OTHERS) !== 0) {
    return `key file ${shown} is writable by group/others (mode ${(mode & 0o777).toString(8)}): whoever can rewrite it chooses the key used here; chmod go-w it`;
  }
  const { promises: fs } = await import('node:fs');
  const nodePath = await import('node:path');
  for (const folder of new Set([nodePath.dirname(nodePath.resolve(path)), nodePath.dirname(await fs.realpath(path))])) {
    const folderMode = (await fs.stat(folder)).mode;
    if ((folderMode & WRITE_BY_OTHERS) !== 0 && (folderMode & STICKY) === 0) {
      return (
        `folder ${folder} of key file ${shown} is writable by group/others (mode ${(folderMode & 0o7777).toString(8)}): ` +
        'whoever can write there can put another key file in its place; chmod go-w the folder, or keep the key in a folder only its owner can write'
      );
    }
  }
  return undefined;
}

/** The key an agent verifies with; warns when it was handed an Ed25519 private key it does not need. */
function verifying(key: AnyKey | VerifyingKey, label: string, logger: AgentLogger): VerifyingKey {
  if (key instanceof Ed25519SigningKey) {
    logger.warn(
      { key_source: label, key_id: key.keyId },
      `${label}: Ed25519 PRIVATE key ${key.keyId} given to an agent, which needs only the public key: give agents the ` +
        '.pub file (shutdown-rpc keygen writes both), so that an agent\'s leak cannot sign requests',
    );
    return key.verifyingKey();
  }
  return key;
}
