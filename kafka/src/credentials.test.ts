import assert from 'node:assert/strict';
import { test } from 'node:test';
import { credentialsFromEnv, KafkaCredentialsError, readCredentials, saslConfig } from './credentials.ts';

const files: Record<string, string> = {
  '/k/username': 'anshim-gateway\n',
  '/k/password': ' s3cret \n',
  '/k/empty': '\n',
};
const read = (p: string): string => {
  const text = files[p];
  if (text === undefined) throw new Error('ENOENT: no such file');
  return text;
};

test('the environment names a user and a password file; the password is read and trimmed', () => {
  const c = credentialsFromEnv(
    { ANSHIM_KAFKA_USERNAME: 'anshim-operator', ANSHIM_KAFKA_PASSWORD_FILE: '/k/password' },
    read,
  );
  assert.deepEqual(c, { mechanism: 'scram-sha-512', username: 'anshim-operator', password: 's3cret' });
  assert.deepEqual(saslConfig(c), { sasl: c });
  const fromFile = credentialsFromEnv(
    {
      ANSHIM_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      ANSHIM_KAFKA_USERNAME_FILE: '/k/username',
      ANSHIM_KAFKA_PASSWORD_FILE: '/k/password',
    },
    read,
  );
  assert.deepEqual(fromFile, { mechanism: 'scram-sha-256', username: 'anshim-gateway', password: 's3cret' });
});

test('nothing set is no SASL; half set, an unknown mechanism, a missing or empty file are clear errors', () => {
  assert.equal(credentialsFromEnv({}, read), undefined);
  assert.deepEqual(saslConfig(undefined), {});
  assert.throws(() => credentialsFromEnv({ ANSHIM_KAFKA_USERNAME: 'u' }, read), /ANSHIM_KAFKA_PASSWORD_FILE is not/);
  assert.throws(
    () => readCredentials({ mechanism: 'gssapi', username: 'u', passwordFile: '/k/password' }, read),
    (err: Error) => err instanceof KafkaCredentialsError && /unknown Kafka SASL mechanism "gssapi"/.test(err.message),
  );
  assert.throws(
    () => readCredentials({ username: 'u', passwordFile: '/k/none' }, read),
    /cannot read the Kafka password file \/k\/none/,
  );
  assert.throws(
    () => readCredentials({ username: 'u', passwordFile: '/k/empty' }, read),
    /password file \/k\/empty is empty/,
  );
  assert.throws(() => readCredentials({ passwordFile: '/k/password' }, read), /needs a username/);
});
