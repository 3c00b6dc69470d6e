// Which AES-256-GCM implementation the envelope runs on. The native addon keeps an OpenSSL
// context per key, so a seal or open costs well under a microsecond; node:crypto sets one up
// per call (6-8 µs). Both are OpenSSL's AES-GCM and produce the same bytes, so frames sealed
// by one open with the other. ANSHIM_AEAD=node forces node:crypto; ANSHIM_AEAD=native makes
// a missing addon an error instead of a fallback.
import native, { type AeadBinding } from '@anshim/aead-native';

export type AeadEngineName = 'native' | 'node:crypto';

export class AeadEngineError extends Error {
  override readonly name = 'AeadEngineError';
}

function choose(): { binding: AeadBinding | null; name: AeadEngineName } {
  const wanted = process.env.ANSHIM_AEAD;
  if (wanted !== undefined && wanted !== '' && wanted !== 'native' && wanted !== 'node')
    throw new AeadEngineError(`ANSHIM_AEAD must be 'native' or 'node', not '${wanted}'`);
  if (wanted === 'node') return { binding: null, name: 'node:crypto' };
  if (native.binding) return { binding: native.binding, name: 'native' };
  if (wanted === 'native')
    throw new AeadEngineError(`ANSHIM_AEAD=native but the addon did not load: ${native.loadError ?? 'unknown'}`);
  return { binding: null, name: 'node:crypto' };
}

const chosen = choose();

/** The native binding when the envelope uses it, else null (node:crypto). */
export const aeadBinding: AeadBinding | null = chosen.binding;
/** For startup logs and benchmark output. */
export const aeadEngine: AeadEngineName = chosen.name;
/** The addon, whether or not the envelope uses it (tests compare the two engines). */
export const nativeAead: AeadBinding | null = native.binding;
export const nativeAeadLoadError: string | null = native.loadError;
