// A component's Kafka identity: a SASL user whose password is a mounted file (a Secret in the
// pod, a 0600 file in the local stack), never an argument or a plain environment value.
import { readFileSync } from 'node:fs';
import type { KafkaConfig } from 'kafkajs';

export type SaslMechanism = 'scram-sha-512' | 'scram-sha-256' | 'plain';
const MECHANISMS: readonly SaslMechanism[] = ['scram-sha-512', 'scram-sha-256', 'plain'];

/** One per mechanism, so each is exactly a kafkajs SASL option. */
export type KafkaCredentials = {
  [M in SaslMechanism]: { mechanism: M; username: string; password: string };
}[SaslMechanism];

/** Where a credential is read from: the worker file and the environment both name files. */
export interface KafkaCredentialFiles {
  mechanism?: string;
  username?: string;
  usernameFile?: string;
  passwordFile: string;
}

export class KafkaCredentialsError extends Error {
  override readonly name = 'KafkaCredentialsError';
}

const readTrimmed = (path: string, what: string, read: (p: string) => string): string => {
  let text: string;
  try {
    text = read(path).trim();
  } catch (err) {
    throw new KafkaCredentialsError(`cannot read the Kafka ${what} file ${path}: ${(err as Error).message}`);
  }
  if (!text) throw new KafkaCredentialsError(`the Kafka ${what} file ${path} is empty`);
  return text;
};

export function readCredentials(
  files: KafkaCredentialFiles,
  read: (path: string) => string = (p) => readFileSync(p, 'utf8'),
): KafkaCredentials {
  const mechanism = (files.mechanism ?? 'scram-sha-512').toLowerCase();
  if (!MECHANISMS.includes(mechanism as SaslMechanism))
    throw new KafkaCredentialsError(
      `unknown Kafka SASL mechanism "${files.mechanism}" (one of ${MECHANISMS.join(', ')})`,
    );
  const username = files.username ?? (files.usernameFile ? readTrimmed(files.usernameFile, 'username', read) : '');
  if (!username) throw new KafkaCredentialsError('a Kafka SASL user needs a username or a username file');
  const password = readTrimmed(files.passwordFile, 'password', read);
  return { mechanism: mechanism as SaslMechanism, username, password } as KafkaCredentials;
}

/**
 * The gateway's and the operator's credential, from ANSHIM_KAFKA_SASL_MECHANISM,
 * ANSHIM_KAFKA_USERNAME (or _FILE) and ANSHIM_KAFKA_PASSWORD_FILE. None set: no SASL (a broker
 * that requires it refuses the connection, and the error says so). Half set is an error.
 */
export function credentialsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  read?: (path: string) => string,
): KafkaCredentials | undefined {
  const username = env.ANSHIM_KAFKA_USERNAME;
  const usernameFile = env.ANSHIM_KAFKA_USERNAME_FILE;
  const passwordFile = env.ANSHIM_KAFKA_PASSWORD_FILE;
  if (!username && !usernameFile && !passwordFile) return undefined;
  if (!passwordFile)
    throw new KafkaCredentialsError('ANSHIM_KAFKA_USERNAME is set but ANSHIM_KAFKA_PASSWORD_FILE is not');
  return readCredentials(
    {
      mechanism: env.ANSHIM_KAFKA_SASL_MECHANISM,
      ...(username ? { username } : {}),
      ...(usernameFile ? { usernameFile } : {}),
      passwordFile,
    },
    read,
  );
}

/** The part of a kafkajs client's configuration that authenticates it. */
export const saslConfig = (credentials: KafkaCredentials | undefined): Pick<KafkaConfig, 'sasl'> =>
  credentials ? { sasl: { ...credentials } } : {};
